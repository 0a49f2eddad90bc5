"""API v1: booking, listing and cancelling sessions.

POST /bookings honours an `Idempotency-Key` header: the first answer (success or refusal,
never a 5xx) is stored under (user, key) and a retry with the same key gets exactly that answer
again. The key's primary key is what makes two concurrent twins book once: the loser's INSERT
fails, `with_retries` runs it again, and the fresh attempt finds the winner's stored answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import Response, current_app, g, jsonify, request
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import selectinload

from clinic import clock
from clinic.api import ApiError, clinic_time
from clinic.api.auth import api_user, bearer_required, current_token
from clinic.api.views import bp
from clinic.auth import operations as accounts
from clinic.auth.models import Role, User
from clinic.booking import changes, notices, operations
from clinic.booking.availability import local_midnight
from clinic.booking.models import Booking, BookingStatus, IdempotencyKey
from clinic.catalog.models import Therapist
from clinic.database import begin_write
from clinic.extensions import db
from clinic.numbers import MAX_INT
from clinic.ratelimits import api_caller, limited

# The whole body of POST /bookings; anything else is refused rather than silently ignored.
BOOKING_FIELDS = ("technique", "duration", "therapist_id", "start")
CANCEL_FIELDS = frozenset({"reason"})
F = TypeVar("F", bound=Callable[..., Any])

MAX_KEY_LENGTH = 100  # IdempotencyKey.key is a String(100)
DEFAULT_LIMIT, MAX_LIMIT = 100, 500
# The operations name fields as the HTML form does; the API's body names them like this.
API_FIELDS = {"therapist": "therapist_id"}


def _invalid(message: str, problems: dict[str, str]) -> ApiError:
    return ApiError(422, "invalid", message, problems=problems)


def _refusal(exc: operations.BookingError) -> ApiError:
    """A refused booking action as the API answers it; 422s name the field when known."""
    if exc.status == 422:
        field = API_FIELDS.get(exc.field or "", exc.field)
        return _invalid(exc.message, {field: exc.message} if field else {})
    return ApiError(exc.status, exc.code, exc.message)


def _payload(error: ApiError) -> dict[str, Any]:
    return {"error": error.code, "message": error.message, **error.extra}


def _created_json(booking: Booking) -> dict[str, Any]:
    return {
        "id": booking.id,
        "status": booking.status.value,
        "start": clinic_time(booking.starts_at),
        "end": clinic_time(booking.ends_at),
        "therapist_id": booking.therapist_id,
        "technique": booking.technique.slug,
    }


def _booking_json(booking: Booking) -> dict[str, Any]:
    return {
        **_created_json(booking),
        "room": booking.room.name,
        "price_minor": booking.price_minor,  # in the currency's minor unit (øre)
        "currency": current_app.config["CLINIC_CURRENCY"],
        # The booking's own terms: later policy changes never alter them.
        "cancellation_cutoff_hours": booking.cancellation_cutoff_hours,
        "cancellable_until": clinic_time(booking.cutoff_at()),
    }


# --- reading the request --------------------------------------------------------------------


def _whole(value: Any) -> bool:
    """A JSON whole number a database column holds (bool is an int in Python, not here)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def _booking_request(body: Any) -> operations.Request:
    """The JSON body as a booking request; raises ApiError 422 listing every problem."""
    if not isinstance(body, dict):
        raise _invalid(
            "The request body must be a JSON object: "
            '{"technique", "duration", "therapist_id", "start"}.',
            {},
        )
    problems = {name: "not accepted" for name in sorted(set(body) - set(BOOKING_FIELDS))}
    technique = body.get("technique")
    if not isinstance(technique, str) or not technique:
        problems["technique"] = "required, as a slug from GET /api/v1/techniques"
    duration = body.get("duration")
    if not _whole(duration):
        problems["duration"] = "required, as a whole number of minutes"
    therapist_id = body.get("therapist_id")
    if not _whole(therapist_id):
        problems["therapist_id"] = "required, as a number from GET /api/v1/therapists"
    start: datetime | None = None
    raw_start = body.get("start")
    example = "2027-03-29T09:00:00+02:00"
    if not isinstance(raw_start, str):
        problems["start"] = f"required, as ISO 8601 with the UTC offset ({example})"
    else:
        try:
            start = datetime.fromisoformat(raw_start)
        except ValueError:
            problems["start"] = f"not a date and time; use ISO 8601 ({example})"
        else:
            if start.tzinfo is None:
                # A wall-clock time alone is ambiguous across DST; never guess the offset.
                problems["start"] = f"give the UTC offset too ({example})"
    if problems:
        raise _invalid("Some fields are not right; see problems.", problems)
    assert isinstance(technique, str) and isinstance(duration, int)  # checked above
    assert isinstance(therapist_id, int) and start is not None
    return operations.Request(
        technique_slug=technique,
        duration_minutes=duration,
        therapist_id=therapist_id,
        start=start,
    )


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise _invalid(
            f"An Idempotency-Key is 1 to {MAX_KEY_LENGTH} characters.",
            {"Idempotency-Key": f"1 to {MAX_KEY_LENGTH} characters"},
        )
    return key


def _fingerprint(body: Any) -> str:
    """What the request asked for, so a key reused for another request is caught."""
    if body is None:
        content = request.get_data()
    else:
        # Parsed and sorted: the same request with its keys reordered is the same request.
        content = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(content).hexdigest()


# --- idempotency ----------------------------------------------------------------------------
# IdempotencyKey has no column for the request, so its JSON `body` holds both:
# {"request_sha256": ..., "answer": <the JSON answer sent>}.


def _stored(key: str) -> IdempotencyKey | None:
    # populate_existing: after a rolled-back attempt, read what is committed now.
    return db.session.get(IdempotencyKey, (api_user().id, key), populate_existing=True)


def _replay(stored: IdempotencyKey, fingerprint: str) -> tuple[int, dict[str, Any]]:
    """The stored answer; raises ApiError 422 when the key came with another request."""
    saved = stored.body or {}
    if stored.status_code is None or saved.get("request_sha256") != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request. "
            "Use a new key for a new booking.",
        )
    return stored.status_code, saved["answer"]


def _remember(
    key: str, fingerprint: str, status: int, answer: dict[str, Any], booking_id: int | None
) -> None:
    db.session.add(
        IdempotencyKey(
            user_id=api_user().id,
            key=key,
            booking_id=booking_id,
            status_code=status,
            body={"request_sha256": fingerprint, "answer": answer},
        )
    )
    db.session.flush()


def _store_refusal(key: str, fingerprint: str, refusal: ApiError) -> tuple[int, dict[str, Any]]:
    """Keep a refused first answer under its key, in a transaction of its own."""
    begin_write()
    accounts.note_api_token_use(current_token(), now=clock.utcnow())
    stored = _stored(key)
    if stored is not None:  # a twin request with the same key answered first
        return _replay(stored, fingerprint)
    answer = _payload(refusal)
    _remember(key, fingerprint, refusal.status, answer, None)
    db.session.commit()
    return refusal.status, answer


def _answer(status: int, payload: dict[str, Any], *, replayed: bool = False) -> Response:
    response = jsonify(payload)
    response.status_code = status
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


# --- the calls ------------------------------------------------------------------------------


def _refuse(error: ApiError) -> Response:
    """Undo the call's writes, keep the token's last use, and answer the refusal.

    Like the blueprint's `_refused`, but the token is written in a transaction opened as a
    writer: on SQLite a read-then-write transaction fails at once with "database is locked"
    when another writer committed in between, which under load turned refusals into 500s.
    """
    db.session.rollback()
    token = g.get("api_token")
    if token is not None:

        def note_use() -> None:
            begin_write()
            accounts.note_api_token_use(token, now=clock.utcnow())
            db.session.commit()

        operations.with_retries(note_use)
    return error.response()


def _as_writer(view: F) -> F:
    """Open the call's transaction as a writer before the bearer token is even read.

    Checking the token records its last use (an UPDATE), so every call here writes; opened
    with BEGIN IMMEDIATE, SQLite queues it for the lock instead of failing halfway.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        begin_write()
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return _refuse(error)

    return wrapped  # type: ignore[return-value]


@bp.post("/bookings")
@_as_writer
@bearer_required(Role.CLIENT)
@limited("booking", api_caller)
def create_booking() -> Response:
    """201 with the booking; 403 screening_required / screening_blocks; 409; 422."""
    key = _idempotency_key()
    body = request.get_json(force=True, silent=True)
    fingerprint = _fingerprint(body)
    now = clock.utcnow()
    timezone = current_app.config["CLINIC_TIMEZONE"]
    replayed = False

    def attempt() -> tuple[int, dict[str, Any]]:
        nonlocal replayed
        begin_write()  # a retry starts a fresh transaction: open it as a writer
        accounts.note_api_token_use(current_token(), now=now)  # a retry rolled it back
        if key is not None:
            stored = _stored(key)
            if stored is not None:
                replayed = True
                return _replay(stored, fingerprint)
        booking = operations.book(api_user(), _booking_request(body), now=now, timezone=timezone)
        notices.announce(
            booking,
            "booked" if booking.status is BookingStatus.CONFIRMED else "booked_pending",
            actor_id=booking.client_id,
        )
        answer = _created_json(booking)
        if key is not None:
            # In the booking's transaction: both are stored, or neither.
            _remember(key, fingerprint, 201, answer, booking.id)
        db.session.commit()
        return 201, answer

    try:
        status, answer = operations.with_retries(attempt)
    except operations.BookingError as exc:
        refusal = _refusal(exc)
    except ApiError as exc:
        if exc.code == "idempotency_key_reused":
            raise
        refusal = exc
    else:
        return _answer(status, answer, replayed=replayed)
    if key is None:
        raise refusal  # rolled back and answered by _as_writer
    db.session.rollback()
    status, answer = operations.with_retries(lambda: _store_refusal(key, fingerprint, refusal))
    return _answer(status, answer)


def _visible_to(user: User) -> ColumnElement[bool] | None:
    """The bookings a user may list: a client's own, a therapist's sessions, all for admins."""
    if user.is_admin:
        return None
    if user.is_therapist:
        return Booking.therapist_id.in_(select(Therapist.id).where(Therapist.user_id == user.id))
    return Booking.client_id == user.id


@bp.get("/bookings")
@_as_writer
@bearer_required()
def list_bookings() -> Response:
    """The caller's bookings by start; `status`, `from` (local date) and `limit` narrow it."""
    problems: dict[str, str] = {}
    statuses = [s.value for s in BookingStatus]
    status = request.args.get("status")
    if status is not None and status not in statuses:
        problems["status"] = f"one of {', '.join(statuses)}"
    try:
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        problems["limit"] = f"a whole number from 1 to {MAX_LIMIT}"
    zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    earliest = None
    if request.args.get("from") is not None:
        try:
            earliest = local_midnight(date.fromisoformat(request.args["from"]), zone)
        except (ValueError, OverflowError):  # OverflowError: 0001-01-01 has no UTC midnight
            problems["from"] = "a date as YYYY-MM-DD"
    if problems:
        raise ApiError(
            422, "invalid_parameters", "Some parameters are not right.", problems=problems
        )

    query = (
        select(Booking)
        .options(selectinload(Booking.technique), selectinload(Booking.room))
        .order_by(Booking.starts_at, Booking.id)
        .limit(limit)
    )
    visible = _visible_to(api_user())
    if visible is not None:
        query = query.where(visible)
    if status is not None:
        query = query.where(Booking.status == BookingStatus(status))
    if earliest is not None:
        query = query.where(Booking.starts_at >= earliest)
    found = [_booking_json(b) for b in db.session.scalars(query)]
    db.session.commit()  # the token's last use
    return jsonify(found)


def _cancel_reason() -> str:
    """The optional `{reason}` body; raises ApiError 422 for anything else."""
    if not request.get_data():
        return ""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise _invalid('The request body must be a JSON object: {"reason": TEXT}.', {})
    problems = {name: "not accepted" for name in sorted(set(body) - CANCEL_FIELDS)}
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        problems["reason"] = "a text"
    if problems:
        raise _invalid("Some fields are not right; see problems.", problems)
    return reason or ""


@bp.post("/bookings/<int:booking_id>/cancel")
@_as_writer
@bearer_required()
def cancel_booking(booking_id: int) -> Response:
    """200 with the cancelled booking; 404 for one you cannot see; 409 too_late / conflict."""
    reason = _cancel_reason()
    now = clock.utcnow()

    def attempt() -> dict[str, Any]:
        begin_write()
        user = api_user()
        booking = db.session.scalar(
            select(Booking)
            .where(Booking.id == booking_id)
            .options(
                selectinload(Booking.client),
                selectinload(Booking.technique),
                selectinload(Booking.room),
                selectinload(Booking.therapist).selectinload(Therapist.user),
            )
        )
        if booking is None or not booking.is_seen_by(user):
            # The same answer whether it does not exist or is someone else's.
            raise ApiError(404, "not_found", "There is no such booking.")
        if not booking.is_live:
            raise ApiError(
                409, "conflict", f"This booking is {booking.status.value.replace('_', ' ')}."
            )
        changes.cancel(booking, by=user, reason=reason, now=now)
        notices.announce(booking, "cancelled", actor_id=user.id)
        answer = _booking_json(booking)
        db.session.commit()
        return answer

    try:
        return jsonify(operations.with_retries(attempt))
    except operations.BookingError as exc:
        raise _refusal(exc) from None
