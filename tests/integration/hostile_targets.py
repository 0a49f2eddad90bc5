"""What test_hostile_input.py attacks: every form, JSON call and filtered list, by endpoint.

A route the app registers that takes POST, PUT or DELETE, or a GET view that reads its query
string, must be named here (or in LEFT_OUT, with the reason): the test fails otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """One endpoint to attack. `path` and `page` are formatted with the world's ids.

    `page` is where the form is (the path itself when None). `fields`, when given, are posted
    instead of the page's own fields: for forms the page shows only in a state the world does
    not have (a link with a made-up token, a button for a deactivated therapist).
    """

    visitor: str  # anonymous, client, therapist or admin
    path: str
    page: str | None = None
    fields: tuple[str, ...] | None = None
    # Its answer to a good request is a page (200), not a redirect: a new feed link shown
    # once, a download. Such a 200 may change what is stored.
    answers_with_page: bool = False


# The page every visitor can open that carries a CSRF token (for the `fields` targets).
CSRF_PAGE = "/password/forgot"

FORMS: dict[str, Target] = {
    "auth.login": Target("anonymous", "/login"),
    "auth.register": Target("anonymous", "/register"),
    "auth.forgot_password": Target("anonymous", "/password/forgot"),
    # A real link for the other client, Ole: a successful reset is allowed to change state.
    "auth.reset_password": Target("anonymous", "/password/reset/{reset_token}"),
    "auth.accept_invitation": Target(
        "anonymous", "/invitation/not-a-token", fields=("password", "confirm")
    ),
    "auth.account": Target("client", "/account"),
    "auth.change_password": Target("client", "/account/password"),
    "auth.logout": Target("client", "/logout", page="/"),
    "privacy.data": Target("client", "/account/data", answers_with_page=True),
    "privacy.delete": Target("client", "/account/delete"),
    "screening.new": Target("client", "/screening/new"),
    "review.decide": Target(
        "admin", "/admin/screenings/{screening}/reject", page="/admin/screenings/{screening}"
    ),
    "catalog.therapist_profile": Target("therapist", "/therapist/profile"),
    "booking.confirm": Target("client", "/book/confirm?{slot_query}"),
    "booking.series": Target("client", "/book/series?{slot_query}&every=weekly&count=4"),
    "booking.reschedule": Target(
        "client",
        "/bookings/{booking}/reschedule",
        page="/bookings/{booking}/reschedule?{move_query}",
    ),
    "booking.cancel": Target("client", "/bookings/{booking}/cancel", page="/bookings/{booking}"),
    "booking.mark": Target(
        "therapist", "/bookings/{started_booking}/mark", page="/bookings/{started_booking}"
    ),
    # Ole's booking, posted by Ida: another client's object.
    "booking.confirm_pending": Target("client", "/bookings/{other_booking}/confirm", fields=()),
    "treatment.edit": Target("therapist", "/bookings/{started_booking}/treatment"),
    "waitlist.join": Target("client", "/waitlist/join"),
    "waitlist.leave": Target("client", "/waitlist/{entry}/leave", page="/waitlist"),
    "waitlist.offer": Target("client", "/waitlist/offers/not-a-token", fields=("action",)),
    "feeds.regenerate": Target(
        "client", "/account/calendar/regenerate", page="/account/calendar", answers_with_page=True
    ),
    "i18n.switch": Target("client", "/language", page="/"),
    "feeds.delete": Target("client", "/account/calendar/delete", fields=()),
    "previsit.check": Target("anonymous", "/visit-check/not-a-token", fields=("answer", "note")),
    "calendar_sources.my_sources": Target("therapist", "/therapist/calendar-sources"),
    "calendar_sources.my_refresh": Target(
        "therapist", "/therapist/calendar-sources/{source}/refresh", fields=()
    ),
    "calendar_sources.my_delete": Target(
        "therapist", "/therapist/calendar-sources/{source}/delete", fields=()
    ),
    "calendar_sources.therapist_sources": Target(
        "admin", "/admin/therapists/{anna}/calendar-sources"
    ),
    "calendar_sources.therapist_refresh": Target(
        "admin", "/admin/therapists/{anna}/calendar-sources/{source}/refresh", fields=()
    ),
    "calendar_sources.therapist_delete": Target(
        "admin", "/admin/therapists/{anna}/calendar-sources/{source}/delete", fields=()
    ),
    "scheduling.my_hours": Target("therapist", "/therapist/hours"),
    "scheduling.my_time_off": Target("therapist", "/therapist/time-off"),
    "scheduling.delete_my_time_off": Target(
        "therapist", "/therapist/time-off/{time_off}/delete", page="/therapist/time-off"
    ),
    "scheduling_admin.therapist_hours": Target("admin", "/admin/therapists/{anna}/hours"),
    "scheduling_admin.therapist_time_off": Target("admin", "/admin/therapists/{anna}/time-off"),
    "scheduling_admin.delete_therapist_time_off": Target(
        "admin",
        "/admin/therapists/{anna}/time-off/{time_off}/delete",
        page="/admin/therapists/{anna}/time-off",
    ),
    "scheduling_admin.policies": Target("admin", "/admin/policies"),
    "scheduling_admin.rooms": Target("admin", "/admin/rooms"),
    "scheduling_admin.rename_room": Target("admin", "/admin/rooms/{room}/rename", "/admin/rooms"),
    "scheduling_admin.room_active": Target(
        "admin", "/admin/rooms/{room}/deactivate", "/admin/rooms"
    ),
    "admin.new_technique": Target("admin", "/admin/techniques/new"),
    "admin.edit_technique": Target("admin", "/admin/techniques/{technique}"),
    "admin.invite_therapist": Target("admin", "/admin/therapists/invite"),
    "admin.deactivate_therapist": Target("admin", "/admin/therapists/{anna}/deactivate"),
    "admin.reactivate_therapist": Target("admin", "/admin/therapists/{anna}/reactivate", fields=()),
    "admin.resend_invitation": Target("admin", "/admin/therapists/{anna}/invitation", fields=()),
    "admin.new_certification": Target("admin", "/admin/certifications/new"),
    "admin.edit_certification": Target("admin", "/admin/certifications/{certification}"),
    "admin.delete_certification": Target(
        "admin", "/admin/certifications/{certification}/delete", fields=()
    ),
    "admin.change_user_role": Target("admin", "/admin/users/{ole}/role", page="/admin/users/{ole}"),
    "admin.user_active": Target(
        "admin", "/admin/users/{ole}/deactivate", page="/admin/users/{ole}"
    ),
    "admin.retry_email": Target("admin", "/admin/emails/{email}/retry", page="/admin/emails"),
    # Two-factor sign-in (issue 9): the forms are posted with their fields named here, so the
    # test does not depend on which step the account's page shows.
    "two_factor.setup": Target("client", "/account/two-factor/setup", fields=()),
    "two_factor.confirm": Target("client", "/account/two-factor/confirm", fields=("code",)),
    "two_factor.regenerate": Target("client", "/account/two-factor/recovery-codes", fields=()),
    "two_factor.switch_off": Target(
        "client", "/account/two-factor/off", fields=("password", "code")
    ),
    "two_factor.login": Target("anonymous", "/login/two-factor", fields=("code",)),
}

# JSON calls: endpoint -> (method, path, whether it needs Ida's bearer token, body fields).
API_CALLS: dict[str, tuple[str, str, bool, tuple[str, ...]]] = {
    "api.issue_token": ("POST", "/api/v1/tokens", False, ("email", "password", "code")),
    "api.submit_screening": ("POST", "/api/v1/screenings", True, ("answers", "consent")),
    "api.create_booking": (
        "POST",
        "/api/v1/bookings",
        True,
        ("technique", "duration", "therapist_id", "start"),
    ),
    "api.cancel_booking": ("POST", "/api/v1/bookings/{other_booking}/cancel", True, ("reason",)),
    # Hostile tokens only (the good one would be revoked by the first example).
    "api.revoke_token": ("DELETE", "/api/v1/tokens/current", False, ()),
}

# GET views that read their query string: endpoint -> (visitor, path, parameter names).
LIST = ("q", "sort", "order", "page")
QUERIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "api.slots": (
        "anonymous",
        "/api/v1/slots",
        ("technique", "duration", "from", "to", "therapist"),
    ),
    "api.therapists": ("anonymous", "/api/v1/therapists", ("technique",)),
    "api.list_bookings": ("api", "/api/v1/bookings", ("status", "from", "limit")),
    "auth.login": ("anonymous", "/login", ("next",)),
    "booking.search": (
        "client",
        "/book",
        ("technique", "duration", "therapist", "start"),
    ),
    "booking.confirm": ("client", "/book/confirm", ("technique", "duration", "therapist", "start")),
    "booking.series": (
        "client",
        "/book/series",
        ("technique", "duration", "therapist", "start", "plan", "every", "count"),
    ),
    "booking.reschedule": (
        "client",
        "/bookings/{booking}/reschedule",
        ("therapist", "from", "start", "to"),
    ),
    "booking.mine": ("client", "/my/bookings", ("page",)),
    "booking.admin_list": ("admin", "/admin/bookings", (*LIST, "status", "day", "therapist")),
    "booking.sessions": ("therapist", "/therapist/sessions", ("status", "day", "page")),
    "scheduling_admin.therapists": ("admin", "/admin/therapists", LIST),
    "admin.techniques": ("admin", "/admin/techniques", LIST),
    "admin.users": ("admin", "/admin/users", (*LIST, "role")),
    "admin.clients": ("admin", "/admin/clients", (*LIST,)),
    "admin.certifications": ("admin", "/admin/certifications", (*LIST, "therapist")),
    "admin.failed_emails": ("admin", "/admin/emails", ("page",)),
    "review.queue": ("admin", "/admin/screenings/", ("page",)),
    "admin.audit_log": (
        "admin",
        "/admin/audit",
        ("page", "actor", "action", "subject_type", "subject_id", "ip", "day_from", "day_to"),
    ),
    "admin.report": ("admin", "/admin/reports/bookings", ("first", "last")),
    "admin.report_csv": ("admin", "/admin/reports/bookings.csv", ("first", "last")),
    "waitlist.join": ("client", "/waitlist/join", ("technique", "duration", "therapist")),
    "waitlist.admin_list": ("admin", "/admin/waitlist", ("technique",)),
    "calendar.week": ("therapist", "/therapist/calendar", ("week",)),
    "calendar.day": ("therapist", "/therapist/calendar/day", ("date",)),
    "calendar.therapist_week": ("admin", "/admin/therapists/{anna}/calendar", ("week",)),
    "calendar.therapist_day": ("admin", "/admin/therapists/{anna}/calendar/day", ("date",)),
    "calendar.clinic_day": ("admin", "/admin/calendar/day", ("date",)),
}

# Sign-ins count failures: enough of them lock the account, and the lock is written to the
# audit log and mailed to its owner. So a refused sign-in may store in these tables.
COUNTS_FAILURES = {"auth.login", "api.issue_token", "two_factor.login"}
LOCKOUT_TABLES = frozenset({"audit_entry", "outbox_message"})

# Left out on purpose, each with where it is tested instead.
LEFT_OUT = {
    # File uploads (multipart .ics files): tests/integration/test_calendar_import.py sends
    # broken, huge and hostile calendar files.
    "calendar_sources.my_upload",
    "calendar_sources.my_replace",
    "calendar_sources.therapist_upload",
    "calendar_sources.therapist_replace",
}
