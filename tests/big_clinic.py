"""A big clinic for counting the statements of each page: 50 more therapists, 2,000 clients and
100,000 bookings on top of the demo clinic, seen from the six visitors of test_access.py.

Each kind of row is made once through the app (its operations, or its models where the app has
no operation), then copied in bulk (`bulk_insert`) under other ids and times: the copies follow
the schema as it changes, a new column being copied from the real row. Nothing here checks the
no-double-booking rule and no time claims are made, so the bulk history overlaps; the pages
only read it. The build takes about 4 seconds on SQLite and 6 on PostgreSQL.

The clock stands at tests.support.NOW, a Monday at 07:00 in Copenhagen; `build` wants it pinned
there (clinic.clock.utcnow) and an app context.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import func, inspect, select, text

from clinic.audit.models import AuditEntry
from clinic.audit.models import record as audit
from clinic.auth.models import Role, User
from clinic.auth.operations import create_user
from clinic.booking.models import Booking, BookingStatus
from clinic.calendars.models import BusyTime, CalendarSource
from clinic.catalog.models import Certification, Room, Technique, TechniqueOption, Therapist
from clinic.demo import seed_demo
from clinic.extensions import db
from clinic.notify.models import OutboxMessage
from clinic.scheduling.models import TimeOff, WorkingHours
from clinic.screening.models import Screening, ScreeningOutcome
from clinic.screening.operations import submit_screening
from clinic.treatment.models import TreatmentNote
from clinic.waitlist.models import WaitlistEntry
from tests.support import CPH, MONDAY, NOW, TEST_PASSWORD, answers, local

THERAPISTS = 50
CLIENTS = 2_000
BOOKINGS = 100_000
ROOMS = 30  # with the demo's 3: the history's many sessions at once need somewhere to happen
HISTORY_DAYS = 730  # bulk history: the two years before NOW
AHEAD_DAYS = 56  # bulk upcoming sessions: the next eight weeks
AHEAD_SHARE = 0.1

# The screening answers of the bulk clients, with their share: most are clear, a fifth wait for
# a review or a clearance (the admins' queue), a few may not book now.
PROFILES = (
    ((), 70),
    (("varicose_veins",), 10),
    (("pregnancy",), 10),
    (("disc_herniation",), 5),
    (("fever_infection",), 4),
    (("rf_trauma",), 1),
)
FIRST_NAMES = ("Mette", "Lars", "Sofie", "Jens", "Ida", "Mikkel", "Freja", "Anders", "Karen", "Ole")
LAST_NAMES = ("Hansen", "Nielsen", "Jensen", "Pedersen", "Larsen", "Sørensen", "Holm", "Berg")
# Therapist X's day, this week and next: six sessions of an hour, a quarter apart.
X_STARTS = ("08:00", "09:15", "10:30", "11:45", "13:30", "14:45")
X_HISTORY_STARTS = ("09:15", "11:45", "14:45")  # a year of history, three a weekday


def row_of(obj: Any) -> dict[str, Any]:
    """The stored columns of a model object, without its id: the pattern for its copies."""
    db.session.flush()
    mapper = inspect(type(obj))
    return {
        attr.columns[0].name: getattr(obj, attr.key)
        for attr in mapper.column_attrs
        if attr.key != "id"
    }


def bulk_insert(model: type[Any], rows: Iterable[dict[str, Any]]) -> int:
    """Insert rows (all with the same columns) in the current transaction: COPY on PostgreSQL,
    one executemany on SQLite. Each value goes through its column type's own conversion, so it
    is stored as the app stores it. Core's insert does the same, but takes several times as
    long for 100,000 rows (on PostgreSQL it sends them one statement each)."""
    rows = list(rows)
    if not rows:
        return 0
    table = model.__table__
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    converting = [
        (n, _converter(convert))
        for n, name in enumerate(names)
        if (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    values = []
    for row in map(itemgetter(*names), rows):
        value = list(row)
        for n, convert in converting:
            value[n] = convert(value[n])
        values.append(tuple(value))
    columns = ", ".join(f'"{name}"' for name in names)
    if dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in values:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in names)
        # Names from the models' own tables, never from input.
        connection.exec_driver_sql(
            f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',  # noqa: S608
            values,
        )
    return len(rows)


def _converter(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A column type's conversion for the driver, remembered per value: the many bookings
    share a few thousand times."""
    known: dict[Any, Any] = {}

    def converted(value: Any) -> Any:
        try:
            return known[value]
        except KeyError:
            known[value] = found = convert(value)
            return found
        except TypeError:  # a JSON list or mapping: not hashable
            return convert(value)

    return converted


def ids_of(column: Any, *where: Any) -> list[int]:
    return list(db.session.scalars(select(column).where(*where).order_by(column)))


def build() -> dict[str, int]:
    """Seed the clinic and commit; return the ids the pages name, as test_access.py's
    `visitors` does."""
    rng = random.Random(2027)
    if db.engine.dialect.name == "sqlite":
        # A page cache that holds the booking table's indexes: inserting takes half the time.
        db.session.execute(text("PRAGMA cache_size = -100000"))
    seed_demo(MONDAY, NOW)
    db.session.flush()
    techniques = {t.slug: t for t in db.session.scalars(select(Technique))}
    options = {
        tid: [(o.duration_minutes, o.price_minor) for o in options]
        for tid, options in _options_by_technique().items()
    }
    rooms = _rooms()
    admin = User.by_email("admin@lindring.example")

    # --- the six visitors, as in test_access.py -----------------------------------------
    client_a = create_user(email="client.a@example.com", name="Client A", password=TEST_PASSWORD)
    client_b = create_user(email="client.b@example.com", name="Client B", password=TEST_PASSWORD)
    x = _therapist("x@example.com", "Therapist X", [techniques["sports-massage"]])
    y = _therapist("y@example.com", "Therapist Y", [techniques["classic-massage"]])
    x.working_hours = [
        WorkingHours(weekday=d, start_time=time(8), end_time=time(18)) for d in range(5)
    ]
    y.working_hours = [
        WorkingHours(weekday=d, start_time=time(9), end_time=time(17)) for d in range(1, 6)
    ]
    screening_a = submit_screening(
        client_a, answers(("anticoagulants",)), consent=True, now=NOW - timedelta(days=30)
    )
    sports = techniques["sports-massage"]
    booking_a = Booking(
        client_id=client_a.id,
        therapist=x,
        technique=sports,
        room_id=rooms[0],
        starts_at=local(MONDAY + timedelta(days=1), "10:30"),
        ends_at=local(MONDAY + timedelta(days=1), "11:30"),
        duration_minutes=60,
        price_minor=options[sports.id][0][1],
    )
    db.session.add(booking_a)
    db.session.flush()

    # --- the patterns: one real row of each kind -----------------------------------------
    user_row = row_of(client_b)
    therapist_row = row_of(x)
    certification_row = row_of(x.certifications[0])
    hours_row = row_of(x.working_hours[0])
    booking_row = row_of(booking_a)
    time_off = TimeOff(
        therapist_id=x.id,
        starts_at=local(MONDAY + timedelta(days=21), "08:00"),
        ends_at=local(MONDAY + timedelta(days=25), "18:00"),
        reason="Course in Aarhus",
    )
    waiting = WaitlistEntry(
        client_id=client_a.id,
        technique=sports,
        duration_minutes=60,
        therapist_id=x.id,
        weekdays=[0, 2],
        day_parts=["morning"],
    )
    source = CalendarSource(therapist_id=x.id, name="Private calendar", event_count=0)
    db.session.add_all([time_off, waiting, source])
    db.session.flush()
    busy = BusyTime(
        source_id=source.id,
        therapist_id=x.id,
        starts_at=local(MONDAY + timedelta(days=3), "16:00"),
        ends_at=local(MONDAY + timedelta(days=3), "18:00"),
    )
    entry = audit(
        "screening.viewed",
        "screening",
        screening_a.id,
        actor_id=admin.id,
        ip="192.0.2.10",
        detail={"client_id": client_a.id, "path": f"/admin/screenings/{screening_a.id}"},
    )
    email = OutboxMessage(
        to_address="client.a@example.com",
        subject="Your booking is confirmed",
        body_text="See you soon.",
        body_html="<p>See you soon.</p>",
    )
    db.session.add_all([busy, email])
    time_off_row, waiting_row, busy_row = row_of(time_off), row_of(waiting), row_of(busy)
    audit_row, email_row = row_of(entry), row_of(email)

    # --- 50 therapists, 2,000 clients -----------------------------------------------------
    bulk_insert(
        User,
        (
            user_row
            | {
                "email": f"therapist{n:02d}@big.example",
                "name": f"{FIRST_NAMES[n % 10]} {LAST_NAMES[n % 8]} {n:02d}",
                "role": Role.THERAPIST,
                "session_token": secrets.token_hex(16),
            }
            for n in range(1, THERAPISTS + 1)
        ),
    )
    bulk_insert(
        User,
        (
            user_row
            | {
                "email": f"client{n:04d}@big.example",
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {n:04d}",
                "session_token": secrets.token_hex(16),
                "created_at": NOW - timedelta(days=rng.randrange(1, 1500)),
            }
            for n in range(1, CLIENTS + 1)
        ),
    )
    therapist_users = ids_of(User.id, User.email.like("therapist%@big.example"))
    bulk_insert(
        Therapist,
        (therapist_row | {"user_id": uid, "bio": "Back care, calmly."} for uid in therapist_users),
    )
    bulk_ids = ids_of(Therapist.id, Therapist.user_id.in_(therapist_users))
    # therapist -> [(technique, last valid day)]: most for a year, some run out within six
    # weeks, a few have.
    certified: dict[int, list[tuple[int, date]]] = {
        tid: [
            (techniques[slug].id, MONDAY + timedelta(days=rng.choice((365, 365, 365, 30, -20))))
            for slug in rng.sample(sorted(techniques), rng.randint(2, 4))
        ]
        for tid in bulk_ids
    }
    bulk_insert(
        Certification,
        (
            certification_row
            | {
                "therapist_id": tid,
                "technique_id": technique_id,
                "number": f"BIG-{tid}-{technique_id}",
                "valid_until": last_day,
            }
            for tid, held in certified.items()
            for technique_id, last_day in held
        ),
    )
    bulk_insert(
        WorkingHours,
        (
            hours_row | {"therapist_id": tid, "weekday": day, "start_time": a, "end_time": b}
            for tid in bulk_ids
            for day in range(5)
            for a, b in ((time(9), time(12, 30)), (time(13), time(17)))
        ),
    )
    holidays = [
        (tid, local(MONDAY + timedelta(days=rng.randrange(-60, 60)), "09:00")) for tid in bulk_ids
    ]
    bulk_insert(
        TimeOff,
        (
            time_off_row
            | {
                "therapist_id": tid,
                "starts_at": start,
                "ends_at": start + timedelta(days=rng.randint(1, 5)),
                "reason": "Holiday",
            }
            for tid, start in holidays
        ),
    )
    clients = ids_of(User.id, User.email.like("client%@big.example"))
    _screen(rng, clients)

    # --- 100,000 bookings -----------------------------------------------------------------
    demo_therapists = ids_of(Therapist.id, Therapist.id.not_in([x.id, *bulk_ids]))
    for tid in demo_therapists:
        certified[tid] = [
            (c.technique_id, c.valid_until) for c in db.session.get(Therapist, tid).certifications
        ]
    x_bookings = list(_x_sessions(rng, x.id, sports.id, clients))
    a_bookings = list(_a_sessions(rng, client_a.id, x.id, sports.id, demo_therapists, certified))
    own = len(x_bookings) + len(a_bookings) + 1
    rows = _history(rng, BOOKINGS - own, clients, certified)
    bulk_insert(
        Booking,
        (
            booking_row | _booking(rooms, options, rng, **plan)
            for plan in chain(x_bookings, a_bookings, rows)
        ),
    )

    # --- what else the pages list ------------------------------------------------------------
    x_done = ids_of(Booking.id, Booking.therapist_id == x.id, Booking.starts_at < NOW)
    note = TreatmentNote(
        booking_id=x_done[-1],
        author_id=x.user_id,
        private_note="Tight left trapezius; less pressure next time.",
        aftercare="Warm shower, gentle stretches.",
    )
    db.session.add(note)
    note_row = row_of(note)
    bulk_insert(TreatmentNote, (note_row | {"booking_id": b} for b in x_done[-200:-1]))
    bulk_insert(
        WaitlistEntry,
        (
            waiting_row
            | {
                "client_id": rng.choice(clients),
                "technique_id": rng.choice(list(options)),
                "therapist_id": rng.choice((None, None, *bulk_ids)),
                "weekdays": sorted(rng.sample(range(5), 2)),
                "created_at": NOW - timedelta(days=rng.randrange(60)),
            }
            for _ in range(400)
        ),
    )
    bulk_insert(
        BusyTime,
        (
            busy_row
            | {
                "starts_at": local(MONDAY + timedelta(days=d), "17:00"),
                "ends_at": local(MONDAY + timedelta(days=d), "18:00"),
            }
            for d in range(4, 60, 7)
        ),
    )
    staff = [admin.id, x.user_id, *therapist_users[:10]]
    bulk_insert(
        AuditEntry,
        (
            audit_row
            | {
                "at": NOW - timedelta(minutes=rng.randrange(365 * 24 * 60)),
                "actor_id": rng.choice(staff),
                "subject_id": rng.randrange(1, CLIENTS),
            }
            for _ in range(10_000)
        ),
    )
    bulk_insert(OutboxMessage, (email_row | _email(rng, n) for n in range(3_000)))
    db.session.commit()
    return {
        "therapist_x": x.id,
        "therapist_y": y.id,
        "client_a": client_a.id,
        "screening_a": screening_a.id,
        "booking_a": booking_a.id,
    }


def _options_by_technique() -> dict[int, list[TechniqueOption]]:
    found: dict[int, list[TechniqueOption]] = {}
    for option in db.session.scalars(select(TechniqueOption).order_by(TechniqueOption.id)):
        found.setdefault(option.technique_id, []).append(option)
    return found


def _rooms() -> list[int]:
    have = db.session.scalar(select(func.count()).select_from(Room)) or 0
    db.session.add_all(Room(name=f"Room {n}") for n in range(have + 1, ROOMS + 1))
    db.session.flush()
    return ids_of(Room.id)


def _therapist(email: str, name: str, certified_for: list[Technique]) -> Therapist:
    user = create_user(email=email, name=name, password=TEST_PASSWORD, role=Role.THERAPIST)
    therapist = Therapist(user=user, bio=f"Bio of {name}.")
    therapist.certifications = [
        Certification(
            technique=technique,
            body="Test Board",
            number=f"T-{user.id}-{technique.slug}",
            valid_from=date(2020, 1, 1),
            valid_until=MONDAY + timedelta(days=365),
        )
        for technique in certified_for
    ]
    db.session.add(therapist)
    db.session.flush()
    return therapist


def _screen(rng: random.Random, clients: list[int]) -> None:
    """A current screening for nearly every client, answered as one of PROFILES."""
    weights = [w for _, w in PROFILES]
    chosen = {cid: rng.choices(range(len(PROFILES)), weights)[0] for cid in clients[20:]}
    patterns = []
    for n, (yes, _) in enumerate(PROFILES):
        # The first clients answer through the app; the pattern's copies go to the others.
        screening = submit_screening(
            db.session.get(User, clients[n]), answers(yes), consent=True, now=NOW
        )
        patterns.append((row_of(screening), [row_of(o) for o in screening.outcomes]))
    valid_for = patterns[0][0]["valid_until"] - NOW
    bulk_insert(
        Screening,
        (
            patterns[profile][0]
            | {
                "client_id": cid,
                "submitted_at": (at := NOW - timedelta(days=rng.randrange(1, 330))),
                "consented_at": at,
                "valid_until": at + valid_for,
            }
            for cid, profile in chosen.items()
            if cid % 50  # one client in fifty has not answered yet
        ),
    )
    stored = db.session.execute(
        select(Screening.id, Screening.client_id).where(Screening.client_id.in_(list(chosen)))
    )
    bulk_insert(
        ScreeningOutcome,
        (
            outcome | {"screening_id": sid}
            for sid, cid in stored
            for outcome in patterns[chosen[cid]][1]
        ),
    )


def _x_sessions(
    rng: random.Random, x: int, technique: int, clients: list[int]
) -> Iterator[dict[str, Any]]:
    """Therapist X: six sessions every weekday this week and next, three a weekday for a year."""
    for week in range(2):
        for weekday in range(5):
            day = MONDAY + timedelta(days=7 * week + weekday)
            for start in X_STARTS:
                if (week, weekday, start) == (0, 1, "10:30"):
                    continue  # booking A
                status = BookingStatus.PENDING if rng.random() < 0.1 else BookingStatus.CONFIRMED
                yield {
                    "therapist": x,
                    "technique": technique,
                    "start": local(day, start),
                    "client": rng.choice(clients),
                    "status": status,
                    "long": False,
                }
    for days_back in range(1, 366):
        day = MONDAY - timedelta(days=days_back)
        if day.weekday() < 5:
            for start in X_HISTORY_STARTS:
                yield {
                    "therapist": x,
                    "technique": technique,
                    "start": local(day, start),
                    "client": rng.choice(clients),
                    "status": _past_status(rng),
                    "long": False,
                }


def _a_sessions(
    rng: random.Random,
    client_a: int,
    x: int,
    sports: int,
    demo_therapists: list[int],
    certified: dict[int, list[tuple[int, date]]],
) -> Iterator[dict[str, Any]]:
    """Client A: 34 past sessions over two years with five therapists, 5 more upcoming."""
    for n in range(39):
        therapist = x if n % 5 == 0 else demo_therapists[n % len(demo_therapists)]
        if n < 34:
            day, status = MONDAY - timedelta(days=20 * n + 3), _past_status(rng)
            day -= timedelta(days=max(day.weekday() - 4, 0))  # a weekday
        else:
            day, status = MONDAY + timedelta(days=7 * (n - 33) + 2), BookingStatus.CONFIRMED
        valid = [t for t, until in certified.get(therapist, ()) if until >= day]
        technique = sports if therapist == x else rng.choice(valid)
        yield {
            "therapist": therapist,
            "technique": technique,
            "start": local(day, "16:00"),
            "client": client_a,
            "status": status,
            "long": False,
        }


def _history(
    rng: random.Random,
    count: int,
    clients: list[int],
    certified: dict[int, list[tuple[int, date]]],
) -> Iterator[dict[str, Any]]:
    """Everyone else's sessions: nine in ten in the last two years, the rest in eight weeks.

    An upcoming session is of a technique its therapist's certificate covers on the day, but
    for one in two hundred: the admins' list of sessions after a certificate runs out.
    """
    therapists = list(certified)
    for _ in range(count):
        therapist = rng.choice(therapists)
        held = [technique for technique, _ in certified[therapist]]
        day = MONDAY + timedelta(days=rng.randrange(AHEAD_DAYS))
        covered = [technique for technique, until in certified[therapist] if until >= day]
        if covered and rng.random() < AHEAD_SHARE:
            status = BookingStatus.PENDING if rng.random() < 0.05 else BookingStatus.CONFIRMED
            if rng.random() >= 0.005:
                held = covered
        else:
            day = MONDAY - timedelta(days=rng.randrange(1, HISTORY_DAYS))
            status = _past_status(rng)
        start = datetime.combine(day, time(rng.randrange(9, 16), rng.choice((0, 15, 30, 45))), CPH)
        yield {
            "therapist": therapist,
            "technique": rng.choice(held),
            "start": start.astimezone(UTC),
            "client": rng.choice(clients),
            "status": status,
        }


def _past_status(rng: random.Random) -> BookingStatus:
    roll = rng.random()
    if roll < 0.85:
        return BookingStatus.COMPLETED
    return BookingStatus.CANCELLED if roll < 0.95 else BookingStatus.NO_SHOW


def _booking(
    rooms: list[int],
    options: dict[int, list[tuple[int, int]]],
    rng: random.Random,
    *,
    therapist: int,
    technique: int,
    start: datetime,
    client: int,
    status: BookingStatus,
    long: bool | None = None,
) -> dict[str, Any]:
    if long is None:
        long = rng.random() < 0.3
    minutes, price = options[technique][-1 if long else 0]
    cancelled = status is BookingStatus.CANCELLED
    booked = min(start, NOW) - timedelta(days=rng.randrange(1, 30))
    return {
        "client_id": client,
        "therapist_id": therapist,
        "technique_id": technique,
        "room_id": rng.choice(rooms),
        "starts_at": start,
        "ends_at": start + timedelta(minutes=minutes),
        "duration_minutes": minutes,
        "price_minor": price,
        "status": status,
        "cancel_reason": "Ill with a cold." if cancelled else "",
        "cancelled_at": start - timedelta(hours=30) if cancelled else None,
        "cancelled_by_id": client if cancelled else None,
        "created_at": booked,
        "updated_at": booked,
    }


def _email(rng: random.Random, n: int) -> dict[str, Any]:
    """One e-mail in ten failed (its attempts kept, no time sent), the others went out."""
    at = NOW - timedelta(minutes=7 * n)
    if n % 10:
        return {
            "to_address": f"client{n % CLIENTS + 1:04d}@big.example",
            "created_at": at,
            "sent_at": at + timedelta(minutes=1),
            "attempts": 1,
        }
    return {
        "to_address": f"client{n % CLIENTS + 1:04d}@big.example",
        "created_at": at,
        "attempts": rng.randint(1, 5),
        "next_attempt_at": NOW + timedelta(minutes=30),
        "last_error": "451 4.3.0 Mail server temporarily rejected the message",
    }
