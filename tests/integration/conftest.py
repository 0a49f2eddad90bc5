"""Fixtures for the booking tests: the demo clinic seeded for MONDAY, the clock pinned at NOW."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from clinic.auth.models import User
from clinic.catalog.models import Technique, Therapist
from clinic.demo import seed_demo
from clinic.extensions import db
from tests.concurrency_support import Server, gunicorn, log_summary
from tests.support import MONDAY, NOW, Clinic, Person, login, screen


@pytest.fixture
def clinic(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Clinic:
    """The demo clinic seeded for MONDAY, with the clock at NOW and a way to move it."""
    moments = [NOW]
    monkeypatch.setattr("clinic.clock.utcnow", lambda: moments[-1])
    with app.app_context():
        seed_demo(MONDAY, NOW)
        db.session.commit()
        rows = db.session.execute(
            select(User.email, Therapist.id).join(Therapist, Therapist.user_id == User.id)
        )
        ids = {email.split("@")[0]: tid for email, tid in rows}
        ids.update(dict(db.session.execute(select(Technique.slug, Technique.id)).all()))
    return Clinic(app, ids, moments.append, lambda: moments[-1])


@pytest.fixture
def make_client(clinic: Clinic, make_user: Callable[..., User]) -> Callable[..., Person]:
    """A logged-in client; screened at `screened_at` (default NOW) unless `screened` is False."""

    def make(
        email: str,
        *,
        yes: tuple[str, ...] = (),
        other: str = "",
        screened: bool = True,
        screened_at: datetime = NOW,
    ) -> Person:
        user = make_user(email=email, name=email.split("@")[0].title())
        if screened:
            screen(clinic.app, user.id, yes, other, now=screened_at)
        web = clinic.web()
        login(web, email)
        return Person(user, web)

    return make


@pytest.fixture
def ida(make_client: Callable[..., Person]) -> Person:
    """A client whose screening clears every technique."""
    return make_client("ida@example.com")


# --- gunicorn, for the tests marked `concurrency` ------------------------------------------

# gthread workers: 16 requests in flight across 4 processes, so that transactions really
# overlap (4 sync workers would let only 4 run at a time).
WORKERS = 4
THREADS = 4


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One gunicorn for the module; it is stopped (process group terminated) whatever happens."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(database_url, log, workers=WORKERS, threads=THREADS) as running:
        yield running


@pytest.fixture
def quiet_server(server: Server) -> Iterator[Server]:
    """The server, checked afterwards to have logged no traceback during the test."""
    start = server.log.stat().st_size
    yield server
    with server.log.open("rb") as log:
        log.seek(start)
        written = log.read().decode(errors="replace")
    if "Traceback" in written:
        pytest.fail(f"the server logged errors during the test:\n{log_summary(written)}")
