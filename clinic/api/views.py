"""The JSON API v1 routes. Thin: read the JSON, call one operation, commit once, answer JSON.

Refusals are raised as ApiError and answered by `_refused`, which also undoes the request's
writes, so a refused call stores nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from clinic import clock
from clinic.api import ApiError, clinic_time
from clinic.api.auth import api_user, bearer_required, current_token
from clinic.audit.models import record as audit
from clinic.auth import operations as accounts
from clinic.auth import signin, two_factor
from clinic.auth.models import Role, User
from clinic.auth.two_factor_models import has_two_factor
from clinic.database import begin_write
from clinic.extensions import db
from clinic.ratelimits import json_email, limited
from clinic.screening import notices
from clinic.screening import operations as screenings
from clinic.screening.models import Screening, ScreeningOutcome
from clinic.screening.rules import CURRENT_VERSION, InvalidAnswers, questions

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The whole body of POST /screenings. Anything else is refused rather than ignored: a
# "client_id" would suggest a screening can be posted for someone else, and it cannot.
SCREENING_FIELDS = frozenset({"answers", "consent"})


@bp.errorhandler(ApiError)
def _refused(error: ApiError) -> Response:
    db.session.rollback()
    token = g.get("api_token")
    if token is not None:
        begin_write()
        # The call failed, but that a good token was used is still worth knowing.
        accounts.note_api_token_use(token, now=clock.utcnow())
        db.session.commit()
    return error.response()


def _json_object() -> dict[str, Any]:
    """The request body as a JSON object; raises ApiError 422 for anything else."""
    # force: a client that forgets the Content-Type still gets a JSON answer, not a 415 page.
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_json", "The request body must be a JSON object.")
    return body


def _screening_json(screening: Screening) -> dict[str, Any]:
    rows = sorted(screening.outcomes, key=lambda o: (o.technique.position, o.technique.slug))
    return {
        "id": screening.id,
        "status": screening.overall.value,
        "outcomes": {row.technique.slug: row.outcome.value for row in rows},
        "valid_until": clinic_time(screening.valid_until),
    }


# --- tokens ---------------------------------------------------------------------------------


@bp.post("/tokens")
@limited("token", json_email)
def issue_token() -> tuple[Response, int]:
    body = _json_object()
    problems = {
        name: "required, as a string"
        for name in ("email", "password")
        if not isinstance(body.get(name), str)
    }
    if problems:
        raise ApiError(
            422, "invalid_fields", "Send email and password, both as strings.", problems=problems
        )
    user = two_factor.check_password(
        body["email"],
        body["password"],
        now=clock.utcnow(),
        ip=request.remote_addr or "",
        policy=signin.lockout_policy(),
    )
    if user is not None:
        user = _second_factor(user, body)
    if user is None:
        # The failure counts towards a lock here too; committed before the refusal rolls back.
        db.session.commit()
        # One answer for an unknown e-mail, a wrong password, an inactive and a locked account.
        raise ApiError(
            401,
            "invalid_credentials",
            "Wrong e-mail or password.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token, row = accounts.issue_api_token(
        user,
        now=clock.utcnow(),
        max_age=timedelta(seconds=current_app.config["API_TOKEN_MAX_AGE"]),
    )
    db.session.commit()
    return jsonify(token=token, expires_at=clinic_time(row.expires_at)), 201


def _second_factor(user: User, body: dict[str, Any]) -> User | None:
    """The user when two-factor sign-in is off or `code` is right; None for a wrong code.

    Raises ApiError: 401 two_factor_required without a code, 403 two_factor_setup_required for
    an admin who must set it up first.
    """
    if two_factor.must_set_up(user, current_app.config):
        db.session.commit()
        raise ApiError(
            403,
            "two_factor_setup_required",
            "Admins must set up two-factor sign-in on the website before using the API.",
        )
    if not has_two_factor(user.id):
        return user
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        db.session.commit()  # the password step's state (nothing cleared) is kept either way
        raise ApiError(
            401,
            "two_factor_required",
            "This account uses two-factor sign-in: send the code from the app as `code`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    kind = two_factor.second_step(
        user,
        code[:64],
        app_secret=current_app.config["SECRET_KEY"],
        now=clock.utcnow(),
        ip=request.remote_addr or "",
        policy=signin.lockout_policy(),
    )
    return user if kind is not None else None


@bp.delete("/tokens/current")
@bearer_required()
def revoke_token() -> Response:
    accounts.revoke_api_token(current_token(), now=clock.utcnow())
    db.session.commit()
    return Response(status=204)


# --- screening ------------------------------------------------------------------------------


@bp.get("/screening/questions")
def screening_questions() -> Response:
    return jsonify(
        version=CURRENT_VERSION,
        questions=[{"id": q.id, "text": q.text, "kind": q.kind} for q in questions()],
    )


@bp.post("/screenings")
@bearer_required(Role.CLIENT)
def submit_screening() -> tuple[Response, int]:
    body = _json_object()
    unknown = sorted(set(body) - SCREENING_FIELDS)
    if unknown:
        raise ApiError(
            422,
            "unknown_field",
            f"Not accepted: {', '.join(unknown)}. Send only answers and consent; "
            "a screening is always your own.",
            problems={name: "not accepted" for name in unknown},
        )
    answers = body.get("answers")
    if not isinstance(answers, dict):
        raise ApiError(
            422,
            "invalid_answers",
            "answers must be an object of question id to true, false or text.",
            problems={"answers": "must be an object"},
        )
    try:
        screening = screenings.submit_screening(
            api_user(), answers, consent=body.get("consent") is True, now=clock.utcnow()
        )
    except InvalidAnswers as exc:
        raise ApiError(
            422,
            "invalid_answers",
            "Some answers do not fit the questionnaire; see problems.",
            problems=exc.problems,
        ) from None
    except screenings.ScreeningError as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    if screening.is_urgent:
        notices.queue_urgent_alert(screening)
    payload = _screening_json(screening)  # before the commit expires what it reads
    db.session.commit()
    return jsonify(payload), 201


@bp.get("/screenings/<int:screening_id>")
@bearer_required()
def show_screening(screening_id: int) -> Response:
    user = api_user()
    screening = db.session.scalar(
        select(Screening)
        .where(Screening.id == screening_id)
        .options(selectinload(Screening.outcomes).selectinload(ScreeningOutcome.technique))
    )
    if screening is None or not screening.can_be_seen_by(user):
        # The same answer whether it does not exist or is someone else's.
        raise ApiError(404, "not_found", "There is no such screening.")
    if user.id != screening.client_id:
        # Every view of a client's health data by staff goes into the audit log.
        audit(
            "screening.viewed",
            "screening",
            screening.id,
            actor_id=user.id,
            ip=request.remote_addr or "",
            detail={"client_id": screening.client_id, "path": request.path},
        )
    payload = _screening_json(screening)
    db.session.commit()
    return jsonify(payload)
