"""Driving a real gunicorn server: start and stop it, talk HTTP to it, fire requests at once.

Used by tests/integration/test_concurrency.py and bench/http.py. Everything here talks to
127.0.0.1 only, with the standard library's http.client: no third-party HTTP client needed.

Two ways to book are supported, because the guarantee must hold for both: the JSON API
(`ApiChannel`: a bearer token, `POST /api/v1/bookings`) and the HTML form (`FormChannel`: a
logged-in session, `POST /book/confirm` with its CSRF token and one-time request token).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# pbkdf2 with few rounds: logging in 50 clients must not take a minute (tests/conftest.py).
FAST_HASH = "pbkdf2:sha256:1000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- HTTP -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One HTTP response, read completely. `seconds` is the time from sending to the last byte."""

    status: int
    headers: Mapping[str, str]  # lower-case names; Set-Cookie lines are in `cookies`
    cookies: Mapping[str, str]
    body: bytes
    seconds: float = 0.0

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        """Status and the start of the body, for assertion messages."""
        return f"{self.status} {self.text[:300]!r}"


@dataclass(frozen=True)
class Call:
    """A request ready to send: everything is computed before the moment it is fired."""

    method: str
    path: str
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, method: str, path: str, payload: Any, headers: Mapping[str, str]) -> Call:
        return cls(
            method,
            path,
            json.dumps(payload).encode(),
            {**headers, "Content-Type": "application/json"},
        )

    @classmethod
    def form(cls, path: str, data: Mapping[str, str], headers: Mapping[str, str]) -> Call:
        return cls(
            "POST",
            path,
            urlencode(data).encode(),
            {**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )


def _read(response: http.client.HTTPResponse, started: float) -> Answer:
    body = response.read()
    cookies = {}
    for line in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = line.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]
    headers = {k.lower(): v for k, v in response.getheaders() if k.lower() != "set-cookie"}
    return Answer(response.status, headers, cookies, body, time.perf_counter() - started)


def send(port: int, call: Call, *, connection: http.client.HTTPConnection | None = None) -> Answer:
    """Send one call on `connection` (opened already) or on a new connection."""
    conn = connection or http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        started = time.perf_counter()
        conn.request(call.method, call.path, body=call.body or None, headers=dict(call.headers))
        return _read(conn.getresponse(), started)
    finally:
        if connection is None:
            conn.close()


def fire_together(port: int, calls: Sequence[Call], *, timeout: float = 60) -> list[Answer]:
    """Send every call at the same moment, each from its own thread on its own connection.

    The connections are opened first and the threads wait at a barrier, so the requests leave
    within microseconds of each other instead of one connection set-up apart. Answers come
    back in the order of `calls`.
    """
    barrier = threading.Barrier(len(calls))

    def one(call: Call) -> Answer:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        try:
            conn.connect()
            barrier.wait(timeout=timeout)
            return send(port, call, connection=conn)
        finally:
            conn.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


# --- the server -----------------------------------------------------------------------------


@dataclass
class Server:
    """A running gunicorn; `log` is its combined stdout and stderr."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def call(self, call: Call) -> Answer:
        return send(self.port, call)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Answer:
        return send(self.port, Call("GET", path, headers=headers or {}))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def server_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment the app reads its settings from (clinic/config.py)."""
    env = dict(os.environ)
    env.update(
        {
            "LINDRING_ENV": "testing",
            "SECRET_KEY": "concurrency-secret-key",
            "DATABASE_URL": database_url,
            "MAIL_BACKEND": "locmem",
            "PASSWORD_HASH_METHOD": FAST_HASH,
        }
    )
    env.update(extra)
    return env


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn and its workers: the whole process group, forcibly if it lingers."""
    if process.poll() is not None:
        return
    try:
        # SIGINT is gunicorn's quick shutdown; SIGTERM waits seconds for idle workers.
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass


@contextmanager
def gunicorn(
    database_url: str,
    log: Path,
    *,
    workers: int = 4,
    threads: int = 1,
    app: str = "wsgi:app",
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30,
) -> Iterator[Server]:
    """Serve `app` under gunicorn on a free port of 127.0.0.1 until the block ends.

    gunicorn runs in a process group of its own, which is terminated when the block ends,
    whether it ended normally or with an exception. Raises RuntimeError when /healthz does not
    answer within `startup_timeout` seconds (with the end of gunicorn's log).
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--chdir",
        str(PROJECT_ROOT),
        "--graceful-timeout",
        "5",
        # Import the app once in the master and fork the workers from it: four workers each
        # importing it would take seconds on a busy machine. The app opens no connection at
        # import, so no database connection is shared across the fork.
        "--preload",
        "--log-level",
        "warning",
    ]
    if threads > 1:
        command += ["--threads", str(threads)]  # gunicorn then uses its gthread worker
    command.append(app)
    environment = server_environment(database_url, **(env or {}))
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(port, process, log)
    try:
        _wait_healthy(server, startup_timeout)
        yield server
    finally:
        _stop(process)


def log_summary(log: str, top: int = 30) -> str:
    """The app's own frames and the exceptions in a server log, each with how often it came."""
    lines = Counter(
        line.strip()
        for line in log.splitlines()
        if "/clinic/" in line or re.match(r"^[\w.]+(Error|Exception)\b", line)
    )
    return "\n".join(f"{n:4} x {line}" for line, n in lines.most_common(top))


def _wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited at start-up:\n{server.log_text()[-3000:]}")
        try:
            if server.get("/healthz").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz in {timeout} s:\n{server.log_text()}")


# --- reading the public API -----------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A free time as GET /api/v1/slots gives it; `start_text` keeps the API's exact spelling."""

    technique: str
    duration: int
    therapist_id: int
    start_text: str

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.start_text)


def therapist_ids(server: Server) -> dict[str, int]:
    """Active therapists by first name, lower case (the demo's anna, bo, clara, david)."""
    answer = server.get("/api/v1/therapists")
    assert answer.status == 200, answer.describe()
    return {t["name"].split()[0].lower(): t["id"] for t in answer.json()}


def free_slots(
    server: Server,
    technique: str,
    duration: int,
    first_day: date,
    last_day: date,
    therapist_id: int | None = None,
) -> list[Slot]:
    query = {
        "technique": technique,
        "duration": duration,
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
    }
    if therapist_id is not None:
        query["therapist"] = therapist_id
    answer = server.get(f"/api/v1/slots?{urlencode(query)}")
    assert answer.status == 200, answer.describe()
    return [
        Slot(technique, duration, s["therapist_id"], s["start"]) for s in answer.json()["slots"]
    ]


# --- clients who may book ------------------------------------------------------------------


def make_clients(app: Any, count: int, prefix: str = "racer") -> list[Account]:
    """`count` clients, each with a screening that clears every technique, in one commit."""
    from clinic import clock
    from clinic.auth.models import Role
    from clinic.auth.operations import create_user
    from clinic.database import begin_write
    from clinic.extensions import db
    from clinic.screening.operations import submit_screening
    from clinic.screening.rules import questions
    from tests.support import TEST_PASSWORD

    all_no = {q.id: (False if q.kind == "yes_no" else "") for q in questions()}
    with app.app_context():
        # A writer from the start, as the app's are: a server under test may be writing too.
        begin_write()
        now = clock.utcnow()
        users = []
        for n in range(count):
            user = create_user(
                email=f"{prefix}{n}@example.com",
                name=f"{prefix.title()} {n}",
                password=TEST_PASSWORD,
                role=Role.CLIENT,
            )
            screening = submit_screening(user, all_no, consent=True, now=now)
            assert screening.overall.value == "clear", screening.overall
            users.append(user)
        db.session.commit()
        return [Account(u.id, u.email, TEST_PASSWORD) for u in users]


# --- two ways to book -----------------------------------------------------------------------


@dataclass
class Account:
    """A client who can book: `credentials` are headers (a bearer token or a session cookie)."""

    user_id: int
    email: str
    password: str
    credentials: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a booking request came to: booked (with the booking's id), taken, or something else."""

    kind: str  # "booked", "taken" or "other"
    booking_id: int | None
    answer: Answer


class Channel(Protocol):
    """One way of booking over HTTP: the API or the HTML form."""

    name: str

    def log_in(self, server: Server, account: Account) -> None: ...

    def prepare(self, server: Server, account: Account, slot: Slot) -> Call: ...

    def outcome(self, answer: Answer) -> Outcome: ...

    def cancel(self, server: Server, account: Account, booking_id: int) -> Answer: ...


class ApiChannel:
    """The JSON API: 201 with the booking, 409 slot_unavailable when the time is taken."""

    name = "api"

    def log_in(self, server: Server, account: Account) -> None:
        answer = server.call(
            Call.json(
                "POST", "/api/v1/tokens", {"email": account.email, "password": account.password}, {}
            )
        )
        assert answer.status == 201, answer.describe()
        account.credentials = {"Authorization": f"Bearer {answer.json()['token']}"}

    def prepare(self, server: Server, account: Account, slot: Slot) -> Call:
        payload = {
            "technique": slot.technique,
            "duration": slot.duration,
            "therapist_id": slot.therapist_id,
            "start": slot.start_text,
        }
        return Call.json("POST", "/api/v1/bookings", payload, account.credentials)

    def outcome(self, answer: Answer) -> Outcome:
        if answer.status == 201:
            return Outcome("booked", answer.json()["id"], answer)
        if answer.status == 409 and _json_error(answer) == "slot_unavailable":
            return Outcome("taken", None, answer)
        return Outcome("other", None, answer)

    def cancel(self, server: Server, account: Account, booking_id: int) -> Answer:
        return server.call(
            Call.json("POST", f"/api/v1/bookings/{booking_id}/cancel", {}, account.credentials)
        )


def _json_error(answer: Answer) -> str | None:
    try:
        return answer.json().get("error")
    except (ValueError, AttributeError):
        return None


_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_REQUEST_TOKEN_RE = re.compile(r'name="request_token" type="hidden" value="([^"]+)"')
_BOOKING_PATH_RE = re.compile(r"^/bookings/(\d+)$")
# The words of operations.slot_taken(), as the confirm page shows them.
SLOT_TAKEN_TEXT = "has just been taken or is no longer free"


def _field(pattern: re.Pattern[str], answer: Answer) -> str:
    match = pattern.search(answer.text)
    assert match, f"no {pattern.pattern!r} in {answer.describe()}"
    return match.group(1)


class FormChannel:
    """The HTML flow: log in, open /book/confirm, post it; booked is a redirect to the booking."""

    name = "html"

    def _keep_cookies(self, account: Account, answer: Answer) -> None:
        jar = dict(
            part.split("=", 1)
            for part in account.credentials.get("Cookie", "").split("; ")
            if "=" in part
        )
        jar.update(answer.cookies)
        account.credentials = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}

    def _get(self, server: Server, account: Account, path: str) -> Answer:
        answer = server.get(path, account.credentials)
        self._keep_cookies(account, answer)
        return answer

    def log_in(self, server: Server, account: Account) -> None:
        account.credentials = {}
        page = self._get(server, account, "/login")
        answer = server.call(
            Call.form(
                "/login",
                {
                    "email": account.email,
                    "password": account.password,
                    "csrf_token": _field(_CSRF_RE, page),
                },
                account.credentials,
            )
        )
        assert answer.status == 302, answer.describe()
        self._keep_cookies(account, answer)

    def _confirm_path(self, slot: Slot) -> str:
        query = {
            "technique": slot.technique,
            "duration": slot.duration,
            "therapist": slot.therapist_id,
            "start": slot.start_text,
        }
        return f"/book/confirm?{urlencode(query)}"

    def prepare(self, server: Server, account: Account, slot: Slot) -> Call:
        path = self._confirm_path(slot)
        page = self._get(server, account, path)
        assert page.status == 200, page.describe()
        return Call.form(
            path,
            {
                "csrf_token": _field(_CSRF_RE, page),
                "request_token": _field(_REQUEST_TOKEN_RE, page),
            },
            account.credentials,
        )

    def outcome(self, answer: Answer) -> Outcome:
        if answer.status == 302:
            match = _BOOKING_PATH_RE.match(urlsplit(answer.headers.get("location", "")).path)
            if match:
                return Outcome("booked", int(match.group(1)), answer)
        if answer.status == 409 and SLOT_TAKEN_TEXT in answer.text:
            return Outcome("taken", None, answer)
        return Outcome("other", None, answer)

    def cancel(self, server: Server, account: Account, booking_id: int) -> Answer:
        page = self._get(server, account, f"/bookings/{booking_id}")
        assert page.status == 200, page.describe()
        return server.call(
            Call.form(
                f"/bookings/{booking_id}/cancel",
                {"csrf_token": _field(_CSRF_RE, page), "reason": ""},
                account.credentials,
            )
        )


def reschedule_call(server: Server, account: Account, booking_id: int, slot: Slot) -> Call:
    """The HTML form that moves a booking to `slot` (the only way to reschedule so far)."""
    query = urlencode({"start": slot.start_text, "to": slot.therapist_id})
    page = server.get(f"/bookings/{booking_id}/reschedule?{query}", account.credentials)
    assert page.status == 200, page.describe()
    return Call.form(
        f"/bookings/{booking_id}/reschedule",
        {
            "csrf_token": _field(_CSRF_RE, page),
            "start": slot.start_text,
            "therapist": str(slot.therapist_id),
        },
        account.credentials,
    )


def reschedule_outcome(answer: Answer, booking_id: int) -> Outcome:
    """Moved means a redirect back to the booking; taken, the page again with a 409."""
    location = urlsplit(answer.headers.get("location", "")).path
    if answer.status == 302 and location == f"/bookings/{booking_id}":
        return Outcome("booked", booking_id, answer)
    if answer.status == 409 and SLOT_TAKEN_TEXT in answer.text:
        return Outcome("taken", None, answer)
    return Outcome("other", None, answer)


def book_together(
    server: Server,
    channel: Channel,
    requests: Sequence[tuple[Account, Slot]],
) -> list[Outcome]:
    """Prepare every request one after another, then fire them all at the same moment."""
    calls = [channel.prepare(server, account, slot) for account, slot in requests]
    return [channel.outcome(a) for a in fire_together(server.port, calls)]
