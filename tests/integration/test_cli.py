"""The `flask --app wsgi` commands of DESIGN.md."""

from __future__ import annotations

from sqlalchemy import func, select

from clinic.auth.models import Role, User
from clinic.catalog.models import Certification, Room, Technique, Therapist
from clinic.extensions import db
from clinic.scheduling.models import ClinicPolicy
from tests.support import login


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Technique, Therapist, Certification, Room, ClinicPolicy)
        }


def test_seed_demo_creates_the_demo_clinic_once(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Seeded the demo clinic" in first.output
    after_first = counts(app)
    assert after_first == {
        "User": 6,  # four therapists, an admin, a client
        "Technique": 5,
        "Therapist": 4,
        "Certification": 2 + 3 + 5 + 2 + 1,  # David's expired one included
        "Room": 3,
        "ClinicPolicy": 1,
    }
    second = runner.invoke(args=["seed-demo"])
    assert "already complete" in second.output
    assert counts(app) == after_first

    with app.app_context():
        policy = db.session.get(ClinicPolicy, 1)
        assert (policy.granularity_minutes, policy.buffer_minutes) == (15, 15)
        assert (policy.min_notice_minutes, policy.horizon_days) == (120, 90)
        assert policy.cancellation_cutoff_hours == 24
        roles = dict(db.session.execute(select(User.email, User.role)).all())
        assert roles["admin@lindring.example"] is Role.ADMIN
        assert roles["client@lindring.example"] is Role.CLIENT
        assert roles["clara@lindring.example"] is Role.THERAPIST
    login(app.test_client(), "anna@lindring.example", "demo-password")


def test_seed_demo_if_empty_leaves_a_used_database_alone(app, make_user):
    make_user(email="real@example.com")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert "not seeded" in result.output
    assert counts(app)["Technique"] == 0


def test_seed_demo_is_refused_in_production(app):
    app.config["LINDRING_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refused" in result.output
    assert counts(app)["User"] == 0


def test_create_admin_and_client(app):
    runner = app.test_cli_runner()
    admin = runner.invoke(
        args=["create-admin", "Boss@Clinic.dk", "--password", "a long admin passphrase"]
    )
    assert admin.exit_code == 0, admin.output
    client = runner.invoke(
        args=[
            "create-client",
            "ida@example.com",
            "--password",
            "another passphrase",
            "--name",
            "Ida",
        ]
    )
    assert client.exit_code == 0, client.output
    with app.app_context():
        roles = dict(db.session.execute(select(User.email, User.role)).all())
    assert roles == {"boss@clinic.dk": Role.ADMIN, "ida@example.com": Role.CLIENT}
    response = login(app.test_client(), "boss@clinic.dk", "a long admin passphrase")
    assert response.headers["Location"] == "/admin/"


def test_create_client_refuses_a_weak_password_or_taken_email(app, make_user):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-client", "ida@example.com", "--password", "short"])
    assert weak.exit_code != 0 and "at least 12" in weak.output
    make_user(email="taken@example.com")
    taken = runner.invoke(
        args=["create-client", "TAKEN@example.com", "--password", "a fine long passphrase"]
    )
    assert taken.exit_code != 0 and "already exists" in taken.output
    assert counts(app)["User"] == 1


def test_create_admin_prompts_for_the_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "boss@clinic.dk"],
        input="a long admin passphrase\na long admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "a long admin passphrase" not in result.output  # hidden input
    login(app.test_client(), "boss@clinic.dk", "a long admin passphrase")


def test_purge_expired_erases_old_screenings_and_says_how_many(app, make_user):
    from datetime import timedelta

    from clinic.audit.models import AuditEntry
    from clinic.clock import utcnow
    from clinic.screening.models import Screening
    from tests.support import screen

    old, new = make_user(email="old@example.com"), make_user(email="new@example.com")
    screen(app, old.id, now=utcnow() - timedelta(days=6 * 366))  # never came, screened 6 years ago
    screen(app, new.id, now=utcnow() - timedelta(days=30))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["purge-expired"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Erased 1 screening(s), 0 pre-visit check(s)")
    second = runner.invoke(args=["purge-expired"])
    assert second.output.startswith("Erased 0 screening(s)")
    with app.app_context():
        assert list(db.session.scalars(select(Screening.client_id))) == [new.id]
        details = db.session.scalars(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "retention.purged")
            .order_by(AuditEntry.id)
        ).all()
    assert [d["screenings"] for d in details] == [1, 0]
