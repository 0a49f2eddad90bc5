"""The retention purge: `flask --app wsgi purge-expired` and the setting on the policies page.

The clock is pinned to Monday 22 March 2027, 06:00 UTC. With the default of 5 years the cut-off
is 22 March 2022, 06:00 UTC: health data last touched before it goes, data after it stays.
A visit is a completed session, a no-show, or a confirmed session that has started.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from clinic.audit.models import AuditEntry
from clinic.auth.models import User
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Technique
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from clinic.screening.models import PreVisitCheck, Screening, ScreeningOutcome
from clinic.treatment.models import TreatmentNote
from tests.support import NOW, Clinic, count_queries, post_form, screen

FIVE_YEARS = NOW.replace(year=2022)  # the cut-off under the default
POLICIES = {  # the demo clinic's, as the policies form posts them
    "granularity_minutes": "15",
    "buffer_minutes": "15",
    "min_notice_minutes": "120",
    "horizon_days": "90",
    "cancellation_cutoff_hours": "24",
    "waitlist_claim_minutes": "120",
    "no_show_review_threshold": "0",
}
DAY = timedelta(days=1)


def visit(clinic: Clinic, client_id: int, start, status=BookingStatus.COMPLETED) -> int:
    """A session of the client at `start` (written straight to the table), with an answered
    pre-visit check and a treatment note recorded at its time."""
    with clinic.app.app_context():
        booking = Booking(
            client_id=client_id,
            therapist_id=clinic.ids["anna"],
            technique_id=clinic.ids["sports-massage"],
            room_id=1,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            duration_minutes=60,
            price_minor=65000,
            status=status,
            created_at=start - DAY,
        )
        db.session.add(booking)
        db.session.flush()
        db.session.add_all(
            [
                PreVisitCheck(
                    booking_id=booking.id,
                    token_hash=f"check-{booking.id:08d}".ljust(64, "0"),
                    created_at=start - DAY,
                    expires_at=start,
                    answered_at=start - DAY,
                    answers={"infection": False, "injury": False, "symptoms": False},
                    outcome="clear",
                ),
                TreatmentNote(
                    booking_id=booking.id,
                    author_id=db.session.scalar(select(User.id).where(User.email.like("anna@%"))),
                    private_note="tender lower back",
                    aftercare="stretch daily",
                    created_at=start + timedelta(hours=1),
                ),
            ]
        )
        db.session.commit()
        return booking.id


@pytest.fixture
def people(clinic: Clinic, make_user) -> dict[str, int]:
    """Clients named after what the purge should do with them."""
    made = {}

    def client(name: str, screened_at) -> int:
        user = make_user(email=f"{name}@example.com", name=name.title())
        screen(clinic.app, user.id, now=screened_at)
        made[name] = user.id
        return user.id

    # Last visit 5 years and a day ago: erased.
    visit(clinic, client("gone", FIVE_YEARS - 40 * DAY), FIVE_YEARS - DAY)
    # Last visit 5 years less a day ago: kept.
    visit(clinic, client("kept", FIVE_YEARS - 40 * DAY), FIVE_YEARS + DAY)
    # Never came: counted from the screening.
    client("never_old", FIVE_YEARS - DAY)
    client("never_new", FIVE_YEARS + DAY)
    # An old visit, but screened again since: counted from the newer screening.
    visit(clinic, client("rescreened", NOW - 300 * DAY), FIVE_YEARS - 400 * DAY)
    # A no-show a year ago is a visit; a cancellation is not.
    noshow = client("no_show", FIVE_YEARS - 40 * DAY)
    visit(clinic, noshow, FIVE_YEARS - 30 * DAY)
    visit(clinic, noshow, NOW - 300 * DAY, BookingStatus.NO_SHOW)
    cancelled = client("cancelled", FIVE_YEARS - 40 * DAY)
    visit(clinic, cancelled, FIVE_YEARS - 30 * DAY)
    visit(clinic, cancelled, NOW - 300 * DAY, BookingStatus.CANCELLED)
    # Everything old, but a session to come: kept, the therapist needs the notes.
    upcoming = client("upcoming", FIVE_YEARS - 40 * DAY)
    visit(clinic, upcoming, FIVE_YEARS - 30 * DAY)
    visit(clinic, upcoming, NOW + 3 * DAY, BookingStatus.CONFIRMED)
    return made


def screened(clinic: Clinic, people: dict[str, int]) -> set[str]:
    """Who still has a screening."""
    with clinic.app.app_context():
        ids = set(db.session.scalars(select(Screening.client_id)))
    return {name for name, uid in people.items() if uid in ids}


def health_rows(clinic: Clinic, client_id: int) -> tuple[int, int]:
    """(pre-visit checks, treatment notes with text) on the client's bookings."""
    with clinic.app.app_context():
        theirs = select(Booking.id).where(Booking.client_id == client_id)
        checks = db.session.scalar(select(func.count()).where(PreVisitCheck.booking_id.in_(theirs)))
        notes = db.session.scalar(
            select(func.count()).where(
                TreatmentNote.booking_id.in_(theirs), TreatmentNote.private_note != ""
            )
        )
        return checks, notes


def purge(clinic: Clinic) -> str:
    result = clinic.app.test_cli_runner().invoke(args=["purge-expired"])
    assert result.exit_code == 0, result.output
    return result.output


KEPT = {"kept", "never_new", "rescreened", "no_show", "upcoming"}


def test_the_purge_erases_what_has_been_kept_its_time(clinic: Clinic, people):
    output = purge(clinic)
    assert screened(clinic, people) == KEPT
    assert "Erased 3 screening(s), 3 pre-visit check(s) and the texts of 3 treatment note(s)" in (
        output
    )
    assert "longer than 5 year(s) after the last visit" in output
    assert health_rows(clinic, people["gone"]) == (0, 0)
    assert health_rows(clinic, people["kept"]) == (1, 1)
    assert health_rows(clinic, people["upcoming"]) == (2, 2)
    assert health_rows(clinic, people["no_show"]) == (2, 2)
    # Screened again since, so the screening stays; the old session's check and note go.
    assert health_rows(clinic, people["rescreened"]) == (0, 0)
    # The cancelled client's old session lost its check and note; the cancelled booking's are
    # recent and stay.
    assert health_rows(clinic, people["cancelled"]) == (1, 1)
    with clinic.app.app_context():
        # Outcomes and bookings: the outcomes went with their screenings, the bookings stay.
        techniques = db.session.scalar(select(func.count()).select_from(Technique))
        outcomes = db.session.scalar(
            select(func.count())
            .select_from(ScreeningOutcome)
            .join(Screening)
            .where(Screening.client_id.in_(people.values()))
        )
        assert outcomes == techniques * len(KEPT)
        assert (
            db.session.scalar(select(func.count()).where(Booking.client_id == people["gone"])) == 1
        )
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.purged")
        )
        assert entry.actor_id is None
        assert entry.detail == {
            "screenings": 3,
            "previsit_checks": 3,
            "treatment_notes": 3,
            "retention_years": 5,
            "cutoff": "2022-03-22T06:00:00+00:00",
        }


def test_running_it_again_erases_nothing_more(clinic: Clinic, people):
    purge(clinic)
    again = purge(clinic)
    assert "Erased 0 screening(s), 0 pre-visit check(s) and the texts of 0 treatment note(s)" in (
        again
    )
    assert screened(clinic, people) == KEPT


def test_the_clock_moving_on_lets_more_go(clinic: Clinic, people):
    clinic.set_clock(NOW + 2 * DAY)
    purge(clinic)
    assert screened(clinic, people) == KEPT - {"kept", "never_new"}


def test_a_longer_period_on_the_policies_page_keeps_them(clinic: Clinic, people):
    admin = clinic.staff("admin")
    response = post_form(admin, "/admin/policies", {**POLICIES, "screening_retention_years": "6"})
    assert response.status_code == 302
    with clinic.app.app_context():
        assert ClinicPolicy.current().screening_retention_years == 6
    assert "longer than 6 year(s)" in purge(clinic)
    assert screened(clinic, people) == set(people)

    post_form(admin, "/admin/policies", {**POLICIES, "screening_retention_years": "1"})
    purge(clinic)
    assert screened(clinic, people) == {"rescreened", "no_show", "upcoming"}


@pytest.mark.parametrize("typed", ["0", "31", "two", "2.5", ""])
def test_the_period_must_be_1_to_30_years(clinic: Clinic, typed):
    admin = clinic.staff("admin")
    page = admin.get("/admin/policies").get_data(as_text=True)
    assert "Keep screenings for N years after the last visit" in page
    response = post_form(admin, "/admin/policies", {**POLICIES, "screening_retention_years": typed})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Give a whole number from 1 to 30." in html
    if typed:
        assert f'value="{typed}"' in html  # what was typed is kept
    with clinic.app.app_context():
        assert db.session.get(ClinicPolicy, 1).screening_retention_years == 5


def test_the_purge_takes_a_fixed_number_of_statements(clinic: Clinic, people, make_user):
    with count_queries(clinic.app) as few:
        purge(clinic)
    for n in range(3):
        user = make_user(email=f"more{n}@example.com")
        screen(clinic.app, user.id, now=FIVE_YEARS - 40 * DAY)
        visit(clinic, user.id, FIVE_YEARS - 30 * DAY)
    with count_queries(clinic.app) as many:
        output = purge(clinic)
    assert "Erased 3 screening(s)" in output
    assert len(many) == len(few)
