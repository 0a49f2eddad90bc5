"""Who works at the clinic: inviting, deactivating and reactivating therapists.

Operations flush; the view commits. The e-mail with the invitation link is queued by the view,
which knows the site's address. The bookings a deactivation leaves without a therapist are
listed by clinic/booking/staffing.py (booking imports catalog, never the other way round).
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from clinic.audit.models import record as audit
from clinic.auth.invitations import awaits_password, renew_marker, unusable_password
from clinic.auth.models import Role, User, normalise_email
from clinic.catalog.models import Therapist
from clinic.extensions import db

EMAIL_TAKEN = _l(
    "An account with this e-mail address already exists. Find it under Users; a client's "
    "account cannot be turned into a therapist's."
)


class StaffingError(ValueError):
    """A change to the staff was refused; the message is fit to show."""


def invite_therapist(*, name: str, email: str, by: User, ip: str = "") -> Therapist:
    """A therapist's account with no usable password yet, and their (active) profile.

    Raises StaffingError when the e-mail address has an account already.
    """
    if User.by_email(email) is not None:
        raise StaffingError(str(EMAIL_TAKEN))
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        password_hash=unusable_password(),
        role=Role.THERAPIST,
    )
    therapist = Therapist(user=user, bio="", active=True)
    db.session.add(therapist)
    db.session.flush()
    audit(
        "therapist.invited",
        "therapist",
        therapist.id,
        actor_id=by.id,
        ip=ip,
        detail={"user_id": user.id},
    )
    return therapist


def renew_invitation(therapist: Therapist, *, by: User, ip: str = "") -> None:
    """Void the links sent so far, before a new one is sent. Raises StaffingError when the
    therapist chose a password already or is deactivated."""
    if not awaits_password(therapist.user):
        raise StaffingError(_("%(name)s has chosen a password already.", name=therapist.name))
    if not therapist.active:
        raise StaffingError(_("Reactivate the therapist before inviting them again."))
    renew_marker(therapist.user)
    audit(
        "therapist.invitation_resent",
        "therapist",
        therapist.id,
        actor_id=by.id,
        ip=ip,
        detail={"user_id": therapist.user_id},
    )


def deactivate_therapist(
    therapist: Therapist, *, by: User, future_booking_ids: list[int], ip: str = ""
) -> None:
    """No new bookings with them, no more logins, every session ended. Their bookings stay
    where they are, to be moved or cancelled one by one; the audit entry names them."""
    if not therapist.active and not therapist.user.active:
        return  # a resent form changes nothing and records nothing
    therapist.active = False
    therapist.user.active = False
    therapist.user.end_all_sessions()
    db.session.flush()
    audit(
        "therapist.deactivated",
        "therapist",
        therapist.id,
        actor_id=by.id,
        ip=ip,
        detail={"user_id": therapist.user_id, "future_booking_ids": future_booking_ids},
    )


def reactivate_therapist(therapist: Therapist, *, by: User, ip: str = "") -> None:
    """Bookable and able to log in again. Raises StaffingError for an erased account."""
    if therapist.user.erased_at is not None:
        raise StaffingError(_("This account was erased; it cannot be reactivated."))
    if therapist.active and therapist.user.active:
        return
    therapist.active = True
    therapist.user.active = True
    db.session.flush()
    audit(
        "therapist.reactivated",
        "therapist",
        therapist.id,
        actor_id=by.id,
        ip=ip,
        detail={"user_id": therapist.user_id},
    )
