"""Admin reports on a small hand-made data set, with the figures worked out by hand.

The period is 22 March - 4 April 2027: ISO weeks 12 (22-28 March) and 13 (29 March -
4 April). Copenhagen moves to summer time in the night to Sunday 28 March, so the week
boundary at Monday 29 March 00:00 is 28 March 22:00 UTC.

Bookings (local time, status; c3 has deleted their account):

 #  start                 therapist technique   min status            client
 1  Mon 22 Mar 10:00 CET  Anna      sports       60 completed         c1
 2  Tue 23 Mar 09:00      Bo        classic      60 completed         c2
 3  Wed 24 Mar 14:00      Anna      trigger      30 no-show           c3
 4  Thu 25 Mar 10:00      Clara     myofascial   90 cancelled, late   c1
 5  Fri 26 Mar 13:00      David     sports       60 pending           c4
 6  Sun 28 Mar 23:30 CEST Clara     classic      60 confirmed         c2   week 12
 7  Mon 29 Mar 00:30 CEST Clara     classic      60 completed         c4   week 13 (Sunday in UTC)
 8  Tue 30 Mar 10:00      Anna      sports       90 completed         c1
 9  Wed 31 Mar 11:00      Bo        deep tissue  60 cancelled         c2
10  Thu  1 Apr 15:00      Anna      sports       60 completed         c3
11  Fri  2 Apr 09:00      Bo        classic      60 no-show           c4
12  Sun  4 Apr 23:30 CEST David     myofascial   60 confirmed         c2   last half hour
outside the period:
13  Mon  1 Mar 10:00 CET  Anna      sports       60 completed         c1   c1's first visit
14  Sun 21 Mar 23:30 CET  Bo        classic      60 no-show           c2   22:30 UTC, before
15  Mon  5 Apr 00:30 CEST David     sports       60 confirmed         c1   4 Apr 22:30 UTC, after

Time off: Anna Tue 23 Mar 11:00-13:00 (90 working minutes: 11-12 and 12:30-13); Bo all of
Wed 31 Mar (480) and all of Mon 15 Mar (outside); Clara Sun 21 Mar 12:00 - Tue 23 Mar 12:00
(120: Tue 10-12); David all of Fri 26 Mar (480).
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from clinic.auth.models import Role, User
from clinic.booking.models import Booking, BookingStatus
from clinic.catalog.models import Room
from clinic.extensions import db
from clinic.privacy.erasure import erase_account
from clinic.scheduling.models import TimeOff
from clinic.screening.models import Decision, Screening, ScreeningReview
from tests.support import local, screen

PERIOD = "from=2027-03-22&to=2027-04-04"
D = date.fromisoformat
C, CO, NS, X, P = "confirmed", "completed", "no_show", "cancelled", "pending"

BOOKINGS = [
    ("2027-03-22", "10:00", "anna", "sports-massage", 60, CO, "c1"),
    ("2027-03-23", "09:00", "bo", "classic-massage", 60, CO, "c2"),
    ("2027-03-24", "14:00", "anna", "trigger-point-therapy", 30, NS, "c3"),
    ("2027-03-25", "10:00", "clara", "myofascial-release", 90, "late", "c1"),
    ("2027-03-26", "13:00", "david", "sports-massage", 60, P, "c4"),
    ("2027-03-28", "23:30", "clara", "classic-massage", 60, C, "c2"),
    ("2027-03-29", "00:30", "clara", "classic-massage", 60, CO, "c4"),
    ("2027-03-30", "10:00", "anna", "sports-massage", 90, CO, "c1"),
    ("2027-03-31", "11:00", "bo", "deep-tissue-massage", 60, X, "c2"),
    ("2027-04-01", "15:00", "anna", "sports-massage", 60, CO, "c3"),
    ("2027-04-02", "09:00", "bo", "classic-massage", 60, NS, "c4"),
    ("2027-04-04", "23:30", "david", "myofascial-release", 60, C, "c2"),
    ("2027-03-01", "10:00", "anna", "sports-massage", 60, CO, "c1"),
    ("2027-03-21", "23:30", "bo", "classic-massage", 60, NS, "c2"),
    ("2027-04-05", "00:30", "david", "sports-massage", 60, C, "c1"),
]


def add_booking(clinic, room_id, day, hhmm, therapist, technique, minutes, status, client_id):
    starts = local(D(day), hhmm)
    db.session.add(
        Booking(
            client_id=client_id,
            therapist_id=clinic.ids[therapist],
            technique_id=clinic.ids[technique],
            room_id=room_id,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=minutes),
            duration_minutes=minutes,
            price_minor=65000,
            status=BookingStatus.CANCELLED if status == "late" else BookingStatus(status),
            late_cancellation=status == "late",
        )
    )


@pytest.fixture(name="data")
def data_set(clinic, make_user):
    """The data set of the module docstring; returns the clients' ids."""
    clients = {
        f"c{n}": make_user(email=f"c{n}@example.com", name=f"Client {n}").id for n in range(1, 5)
    }
    screen(clinic.app, clients["c1"], now=local(D("2027-03-01"), "10:00"))  # clear, before
    screen(clinic.app, clients["c2"], ("varicose_veins",), now=local(D("2027-03-23"), "11:00"))
    screen(clinic.app, clients["c1"], ("pregnancy",), now=local(D("2027-03-30"), "12:00"))
    screen(clinic.app, clients["c4"], ("rf_trauma",), now=local(D("2027-04-04"), "23:30"))
    screen(clinic.app, clients["c2"], ("fever_infection",), now=local(D("2027-04-05"), "00:30"))
    with clinic.app.app_context():
        room = db.session.scalar(select(Room.id))
        for day, hhmm, therapist, technique, minutes, status, client in BOOKINGS:
            add_booking(
                clinic, room, day, hhmm, therapist, technique, minutes, status, clients[client]
            )
        for therapist, (d1, t1), (d2, t2) in [
            ("anna", ("2027-03-23", "11:00"), ("2027-03-23", "13:00")),
            ("bo", ("2027-03-31", "00:00"), ("2027-04-01", "00:00")),
            ("bo", ("2027-03-15", "00:00"), ("2027-03-16", "00:00")),
            ("clara", ("2027-03-21", "12:00"), ("2027-03-23", "12:00")),
            ("david", ("2027-03-26", "00:00"), ("2027-03-27", "00:00")),
        ]:
            db.session.add(
                TimeOff(
                    therapist_id=clinic.ids[therapist],
                    starts_at=local(D(d1), t1),
                    ends_at=local(D(d2), t2),
                )
            )
        admin = db.session.scalar(select(User.id).where(User.role == Role.ADMIN))
        c1_review = db.session.scalar(
            select(Screening.id)
            .where(Screening.client_id == clients["c1"])
            .order_by(Screening.id.desc())
        )
        c2_last = db.session.scalar(
            select(Screening.id)
            .where(Screening.client_id == clients["c2"])
            .order_by(Screening.id.desc())
        )
        db.session.add_all(
            [
                ScreeningReview(
                    screening_id=c1_review,
                    admin_id=admin,
                    decision=Decision.APPROVED,
                    decided_at=local(D("2027-03-31"), "09:00"),
                ),
                ScreeningReview(
                    screening_id=c2_last,
                    admin_id=admin,
                    decision=Decision.REJECTED,
                    decided_at=local(D("2027-04-05"), "08:00"),
                ),
            ]
        )
        db.session.flush()
        # c3 deletes their account: the row stays, emptied, and their past sessions count.
        erase_account(db.session.get(User, clients["c3"]), now=clinic.now())
        db.session.commit()
    return clients


class Tables(HTMLParser):
    """Every <table> of a page: its caption and its rows of cell texts (head, body, foot)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._in_caption = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._in_caption:
            self.tables[-1]["caption"] += data.strip()
        elif self._cell is not None:
            self._cell.append(data)


def page(web, name, query=PERIOD):
    response = web.get(f"/admin/reports/{name}?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def tables_of(web, name, query=PERIOD):
    return {t["caption"]: t["rows"] for t in Tables(page(web, name, query)).tables}


def csv_of(web, name, query=PERIOD):
    response = web.get(f"/admin/reports/{name}.csv?{query}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    slug = "2027-03-22_2027-04-04" if query == PERIOD else None
    if slug:
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="lindring-{name}-{slug}.csv"'
        )
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


TECHNIQUE_HEAD = [
    "Sports massage",
    "Trigger point therapy",
    "Myofascial release",
    "Deep tissue massage",
    "Classic massage",
]


def test_bookings_per_technique_per_week(clinic, data):
    admin = clinic.staff("admin")
    html = page(admin, "bookings")
    assert (
        "Monday 22 March 2027 \u2013 Sunday 4 April 2027" in html
        and "last 8 full weeks" not in html
    )
    assert "except cancelled" in html  # the statuses counted are stated
    assert html.count('role="img"') == 1 and "<svg" in html
    assert tables_of(admin, "bookings")["Bookings per technique per week"] == [
        ["Week", "Starts", *TECHNIQUE_HEAD, "Total"],
        # Booking 6 (Sunday 23:30 summer time) is in week 12, booking 7 (Monday 00:30, still
        # Sunday in UTC) in week 13; cancelled 4 and 9 are left out, 14 and 15 are outside.
        ["2027-W12", "2027-03-22", "2", "1", "0", "0", "2", "5"],
        ["2027-W13", "2027-03-29", "2", "0", "1", "0", "2", "5"],
        ["Total", "", "4", "1", "1", "0", "4", "10"],
    ]
    assert csv_of(admin, "bookings") == [
        ["Week", "Starts", *TECHNIQUE_HEAD, "Total"],
        ["2027-W12", "2027-03-22", "2", "1", "0", "0", "2", "5"],
        ["2027-W13", "2027-03-29", "2", "0", "1", "0", "2", "5"],
        ["Total", "", "4", "1", "1", "0", "4", "10"],
    ]


UTILISATION = [
    ["Therapist", "Working minutes", "Booked minutes", "Utilisation"],
    # 10 days x 450 min, less 90 of time off; booked 1, 3 (no-show), 8, 10.
    ["Anna Holm", "4,410", "240", "5.4%"],
    # 10 x 480, less Wednesday 31 March; booked 2 and 11 (no-show), not cancelled 9.
    ["Bo Lindqvist", "4,320", "120", "2.8%"],
    # Tue-Sat, 10 x 480, less Tuesday 10-12; booked 6 and 7, not cancelled 4.
    ["Clara Nørgaard", "4,680", "120", "2.6%"],
    # 10 x 480 less Friday 26 March; booked 12, not pending 5 nor 15 (outside).
    ["David Skov", "4,320", "60", "1.4%"],
    ["All therapists", "17,730", "540", "3.0%"],
]


def test_utilisation_per_therapist(clinic, data):
    admin = clinic.staff("admin")
    assert tables_of(admin, "utilisation")["Utilisation per therapist"] == UTILISATION
    assert csv_of(admin, "utilisation") == [
        [r[0], *(c.replace(",", "").rstrip("%") for c in r[1:])] for r in UTILISATION
    ]


PER_THERAPIST = [
    ["Anna Holm", "4", "0", "0.0%", "0", "3", "1", "25.0%"],
    ["Bo Lindqvist", "3", "1", "33.3%", "0", "1", "1", "50.0%"],
    ["Clara Nørgaard", "3", "1", "33.3%", "1", "1", "0", "0.0%"],
    ["David Skov", "2", "0", "0.0%", "0", "0", "0", "—"],  # no session with an outcome yet
    ["All", "12", "2", "16.7%", "1", "5", "2", "28.6%"],
]
PER_TECHNIQUE = [
    ["Sports massage", "4", "0", "0.0%", "0", "3", "0", "0.0%"],
    ["Trigger point therapy", "1", "0", "0.0%", "0", "0", "1", "100.0%"],
    ["Myofascial release", "2", "1", "50.0%", "1", "0", "0", "—"],
    ["Deep tissue massage", "1", "1", "100.0%", "0", "0", "0", "—"],
    ["Classic massage", "4", "0", "0.0%", "0", "2", "1", "33.3%"],
    ["All", "12", "2", "16.7%", "1", "5", "2", "28.6%"],
]
RATES_HEAD = [
    "Bookings",
    "Cancelled",
    "Cancellation rate",
    "Late cancellations",
    "Completed",
    "No-shows",
    "No-show rate",
]


def test_cancellations_and_no_shows(clinic, data):
    admin = clinic.staff("admin")
    html = page(admin, "cancellations")
    assert "no-shows ÷ (completed + no-shows)" in html and html.count('role="img"') == 2
    tables = tables_of(admin, "cancellations")
    assert tables["Cancellations and no-shows per therapist"] == [
        ["Therapist", *RATES_HEAD],
        *PER_THERAPIST,
    ]
    assert tables["Cancellations and no-shows per technique"] == [
        ["Technique", *RATES_HEAD],
        *PER_TECHNIQUE,
    ]

    def plain(rows):
        return [[c.rstrip("%").replace("—", "") for c in r] for r in rows]

    assert csv_of(admin, "cancellations") == [
        ["Cancellations and no-shows per therapist"],
        ["Therapist", *RATES_HEAD],
        *plain(PER_THERAPIST),
        [],
        ["Cancellations and no-shows per technique"],
        ["Technique", *RATES_HEAD],
        *plain(PER_TECHNIQUE),
    ]


def test_screening_outcomes_and_decisions(clinic, data):
    admin = clinic.staff("admin")
    tables = tables_of(admin, "screenings")
    # The demo client's (22 March), c2's first (replaced since), c1's second, c4's at 23:30
    # on 4 April; not c1's of 1 March nor c2's of 5 April.
    assert tables["Screenings by overall outcome"] == [
        ["Outcome", "Screenings", "Share"],
        ["Clear", "1", "25.0%"],
        ["Caution", "1", "25.0%"],
        ["Needs review", "1", "25.0%"],
        ["Needs medical clearance", "0", "0.0%"],
        ["Not now", "0", "0.0%"],
        ["Urgent", "1", "25.0%"],
        ["All screenings", "4", "100.0%"],
    ]
    assert tables["Review decisions"] == [
        ["Decision", "Decisions", "Share"],
        ["Approved", "1", "100.0%"],
        ["Medical clearance recorded", "0", "0.0%"],
        ["Rejected", "0", "0.0%"],
        ["All decisions", "1", "100.0%"],
    ]
    rows = csv_of(admin, "screenings")
    assert rows[:9] == [
        ["Screenings by overall outcome"],
        ["Outcome", "Screenings", "Share"],
        ["Clear", "1", "25.0"],
        ["Caution", "1", "25.0"],
        ["Needs review", "1", "25.0"],
        ["Needs medical clearance", "0", "0.0"],
        ["Not now", "0", "0.0"],
        ["Urgent", "1", "25.0"],
        ["All screenings", "4", "100.0"],
    ]
    assert rows[10:13] == [
        ["Review decisions"],
        ["Decision", "Decisions", "Share"],
        ["Approved", "1", "100.0"],
    ]


def test_new_and_returning_clients_count_the_deleted_account(clinic, data):
    with clinic.app.app_context():
        c3 = db.session.get(User, data["c3"])
        assert c3.erased_at is not None and "Client 3" not in c3.name
    admin = clinic.staff("admin")
    expected = [
        ["Week", "Starts", "New clients", "Returning clients", "Clients"],
        # c2's first completed session (2); c1 came first on 1 March.
        ["2027-W12", "2027-03-22", "1", "1", "2"],
        # c4 (7) and the deleted c3 (10: their no-show 3 was no visit) are new; c1 returns.
        ["2027-W13", "2027-03-29", "2", "1", "3"],
        ["Total (client-weeks)", "", "3", "2", "5"],
    ]
    assert tables_of(admin, "clients")["New and returning clients per week"] == expected
    assert csv_of(admin, "clients") == expected


def test_default_period_is_the_last_eight_full_weeks(clinic, data):
    admin = clinic.staff("admin")
    html = admin.get("/admin/reports/bookings").get_data(as_text=True)
    assert (
        "Monday 25 January 2027 \u2013 Sunday 21 March 2027" in html
        and "the last 8 full weeks" in html
    )
    assert 'value="2027-01-25"' in html and 'value="2027-03-21"' in html
    [table] = Tables(html).tables
    weeks = [r[0] for r in table["rows"][1:-1]]
    assert weeks == [f"2027-W{n:02d}" for n in range(4, 12)]
    # Bookings 13 (week 9) and 14 (Sunday 21 March 23:30, week 11).
    assert table["rows"][-1] == ["Total", "", "1", "0", "0", "0", "1", "2"]
