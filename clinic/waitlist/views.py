"""The waitlist pages: a client's entries, joining, leaving and claiming; the admin's list."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from clinic import clock
from clinic.auth.access import roles_required
from clinic.auth.models import Role, User
from clinic.booking import notices
from clinic.booking.models import BookingStatus
from clinic.booking.operations import BookingError, with_retries
from clinic.catalog.models import Technique, Therapist
from clinic.database import begin_write
from clinic.extensions import db
from clinic.waitlist import claims, operations
from clinic.waitlist.forms import ButtonForm, JoinForm, day_part_labels
from clinic.waitlist.models import WaitlistEntry, WaitlistOffer

bp = Blueprint("waitlist", __name__)

# How the admins' list names what came of an offer (claims.offer_state and the outcomes).
OFFER_STATES = {
    "open": _l("open"),
    "expired": _l("expired"),
    "taken": _l("taken"),
    "claimed": _l("claimed"),
}


@bp.context_processor
def _wishes() -> dict[str, object]:
    return {"day_part_labels": day_part_labels()}


def _me() -> User:
    return db.session.get(User, current_user.id)


def _ip() -> str:
    return request.remote_addr or ""


def _timezone() -> str:
    return current_app.config["CLINIC_TIMEZONE"]


# --- a client's entries -------------------------------------------------------------------


@bp.route("/waitlist")
@roles_required(Role.CLIENT)
def mine() -> str:
    """The client's entries that still wait, each with its open offers and a leave button."""
    entries = operations.active_entries(current_user.id)
    return render_template(
        "waitlist/mine.html",
        entries=entries,
        offers=operations.open_offers([e.id for e in entries], clock.utcnow()),
        limit=operations.MAX_ACTIVE_ENTRIES,
        leave_form=ButtonForm(),
    )


def _join_form() -> JoinForm:
    techniques = list(
        db.session.scalars(
            select(Technique)
            .where(Technique.active)
            .options(selectinload(Technique.options))
            .order_by(Technique.position, Technique.name)
        )
    )
    therapists = list(
        db.session.scalars(
            select(Therapist)
            .join(Therapist.user)
            .where(Therapist.active, User.active)
            .options(joinedload(Therapist.user), selectinload(Therapist.certifications))
        )
    )
    today = clock.local_today(_timezone())
    if request.method == "GET":
        # Prefilled from the free-times page: what the client was looking for.
        return JoinForm(
            formdata=None,
            techniques=techniques,
            therapists=therapists,
            today=today,
            data={
                "technique": request.args.get("technique", ""),
                "duration": request.args.get("duration", type=int),
                "therapist": request.args.get("therapist", 0, type=int),
            },
        )
    return JoinForm(techniques=techniques, therapists=therapists, today=today)


@bp.route("/waitlist/join", methods=["GET", "POST"])
@roles_required(Role.CLIENT)
def join() -> str | Response | tuple[str, int]:
    """Wait for a technique and length, maybe one therapist, on some days and times of day."""
    form = _join_form()
    problem: operations.WaitlistError | None = None
    if form.validate_on_submit():
        technique = form.chosen_technique
        assert technique is not None  # validated
        try:
            operations.join(
                _me(),
                technique=technique,
                duration_minutes=form.duration.data,
                therapist_id=form.therapist.data or None,
                weekdays=form.weekdays.data or [],
                day_parts=form.day_parts.data or [],
                now=clock.utcnow(),
                ip=_ip(),
            )
        except operations.WaitlistError as exc:
            db.session.rollback()
            problem = exc
        else:
            db.session.commit()
            flash(
                _(
                    "You are on the waitlist. When a matching time comes free, we e-mail you a "
                    "link to book it."
                ),
                "success",
            )
            return redirect(url_for("waitlist.mine"))
    if problem is not None:
        status = 403 if problem.code.startswith("screening") else 409
    else:
        status = 422 if request.method == "POST" else 200
    return render_template("waitlist/join.html", form=form, problem=problem), status


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@roles_required(Role.CLIENT)
def leave(entry_id: int) -> Response:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.client_id != current_user.id:
        abort(404)  # someone else's entry does not exist, as far as you are concerned
    if not ButtonForm().validate_on_submit():
        flash(_("The form had expired. Please try again."), "warning")
        return redirect(url_for("waitlist.mine"))
    try:
        operations.leave(entry, by=_me(), now=clock.utcnow(), ip=_ip())
    except operations.WaitlistError as exc:
        db.session.rollback()
        flash(exc.message, "info")
    else:
        db.session.commit()
        flash(
            _(
                "You have left the waitlist for %(technique)s.",
                technique=entry.technique.name.lower(),
            ),
            "success",
        )
    return redirect(url_for("waitlist.mine"))


# --- claiming an offer --------------------------------------------------------------------


def _my_offer(token: str) -> WaitlistOffer | None:
    """The offer of this link if it is the logged-in client's; None for an unknown link."""
    offer = claims.find_offer(token)
    if offer is not None and offer.entry.client_id != current_user.id:
        abort(404)  # another client's offer is not found, not forbidden
    return offer


def _offer_page(
    offer: WaitlistOffer, state: str, *, status: int = 200, problem: BookingError | None = None
) -> tuple[str, int]:
    return render_template(
        "waitlist/offer.html",
        offer=offer,
        entry=offer.entry,
        state=state,
        problem=problem,
        form=ButtonForm(),
        ends_at=claims.slot_end(offer),
    ), status


@bp.route("/waitlist/offers/<token>", methods=["GET", "POST"])
@login_required
def offer(token: str) -> Response | tuple[str, int]:
    """GET: the offered time with a button to book it; POST: book it, if still free."""
    found = _my_offer(token)
    if found is None:
        return render_template("waitlist/offer_unknown.html"), 404
    now = clock.utcnow()
    if request.method == "GET":
        state = claims.offer_state(found, now)
        if state == "open" and not claims.still_free(found, now=now, timezone=_timezone()):
            state = "taken"  # booked by other means; recorded when the client tries to claim
        return _offer_page(found, state)
    if not ButtonForm().validate_on_submit():
        flash(_("The form had expired. Please press the button again."), "warning")
        return redirect(url_for("waitlist.offer", token=token))
    return _claim(token, now)


def _claim(token: str, now: datetime) -> Response | tuple[str, int]:
    """Book the offered time in one transaction; a replayed POST finds it booked already."""

    def attempt() -> tuple[WaitlistOffer, str, int | None]:
        offer = _my_offer(token)
        assert offer is not None  # it was there a moment ago, and offers are never deleted
        state = claims.settle(offer, now)
        if state != "open":
            db.session.commit()
            return offer, state, offer.booking_id
        booking = claims.claim(offer, _me(), now=now, timezone=_timezone())
        notices.announce(
            booking,
            "booked" if booking.status is BookingStatus.CONFIRMED else "booked_pending",
            actor_id=current_user.id,
        )
        db.session.commit()
        return offer, "booked", booking.id

    try:
        offer, state, booking_id = with_retries(attempt)
    except (BookingError, operations.WaitlistError) as exc:
        db.session.rollback()
        begin_write()  # the outcome is written below: read as a writer (see clinic/database.py)
        offer = _my_offer(token)
        assert offer is not None
        if offer.outcome == "claimed" and offer.booking_id:
            # A twin of this request (a double click) booked it: show that booking.
            return redirect(url_for("booking.show", booking_id=offer.booking_id))
        if isinstance(exc, BookingError) and exc.status != 409:
            # The screening or the clinic's rules refuse it now; the offer stays open.
            return _offer_page(offer, "open", status=exc.status, problem=exc)
        state = claims.settle(offer, now)
        if state == "open":  # someone booked the time by other means
            claims.decide(offer, "taken", now)
            state = "taken"
        db.session.commit()
        return _offer_page(offer, state, status=409 if state == "taken" else 410)

    if state == "booked":
        flash(_("The time is yours. A confirmation is on its way by e-mail."), "success")
        return redirect(url_for("booking.show", booking_id=booking_id))
    if state == "claimed" and booking_id:
        flash(_("You had already booked this time; here it is."), "info")
        return redirect(url_for("booking.show", booking_id=booking_id))
    return _offer_page(offer, state, status=409 if state == "taken" else 410)


# --- the admins' list ---------------------------------------------------------------------


@bp.route("/admin/waitlist")
@roles_required(Role.ADMIN)
def admin_list() -> str:
    """The waitlist of one technique: active entries in the order they are served."""
    techniques = list(
        db.session.scalars(select(Technique).order_by(Technique.position, Technique.name))
    )
    chosen = next((t for t in techniques if t.slug == request.args.get("technique")), None)
    if chosen is None and techniques:
        chosen = techniques[0]
    active, closed, offers = operations.entries_for_admin(chosen.id) if chosen else ([], [], {})
    now = clock.utcnow()
    claimed = {
        (o.therapist_id, o.starts_at)
        for found in offers.values()
        for o in found
        if o.outcome == "claimed"
    }

    def state(offer: WaitlistOffer) -> str:
        found = claims.offer_state(offer, now, claimed)
        return str(OFFER_STATES.get(found, found))

    return render_template(
        "waitlist/admin.html",
        techniques=techniques,
        chosen=chosen,
        counts=operations.waiting_counts(),
        active=active,
        closed=closed,
        offers=offers,
        state=state,
    )
