"""Secret links: tokens, their digests, and keeping them out of log lines."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic import secret_links

TOKEN = "s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz0123"


def test_a_new_token_has_256_bits_and_only_its_digest_is_kept():
    token, stored = secret_links.new_token()
    assert len(token) == 43 and token != stored
    assert stored == secret_links.digest(token) == secret_links.lookup_digest(token)
    assert secret_links.new_token()[0] != token


@pytest.mark.parametrize("guess", ["", "short", "x" * 101, "has space" * 5, "../../etc/passwd"])
def test_what_cannot_be_a_token_is_not_looked_up(guess):
    assert secret_links.lookup_digest(guess) is None


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f'"GET /calendar/{TOKEN}.ics HTTP/1.1" 200',
            '"GET /calendar/[redacted].ics HTTP/1.1" 200',
        ),
        (f'"GET /visit-check/{TOKEN} HTTP/1.1" 200', '"GET /visit-check/[redacted] HTTP/1.1" 200'),
        (
            f'"POST /waitlist/offers/{TOKEN}?x=1 HTTP/1.1" 302',
            '"POST /waitlist/offers/[redacted]?x=1 HTTP/1.1" 302',
        ),
        # Signed links (reset, invitation) are secrets in the development server's log too.
        (
            '"GET /password/reset/eyJ1IjoxfQ.ZxY3aw.Kq9-Wd1bT0v HTTP/1.1" 200',
            '"GET /password/reset/[redacted] HTTP/1.1" 200',
        ),
        (
            '"POST /invitation/eyJ1IjoxfQ.ZxY3aw.Kq9-Wd1bT0v HTTP/1.1" 302',
            '"POST /invitation/[redacted] HTTP/1.1" 302',
        ),
        # Pages that only look alike keep their paths.
        ('"GET /therapist/calendar/day?date=2027-03-22 HTTP/1.1" 200', None),
        ('"GET /bookings/42.ics HTTP/1.1" 200', None),
    ],
)
def test_log_lines_lose_the_token_and_nothing_else(line, expected, caplog):
    secret_links.install_log_filter()
    caplog.set_level(logging.INFO, logger="werkzeug")
    logging.getLogger("werkzeug").info("%s", line)
    assert caplog.records[-1].getMessage() == (expected or line)
    assert TOKEN not in caplog.text


@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        min_size=20,
        max_size=100,
    )
)
def test_any_token_in_any_secret_path_is_redacted(token):
    for path in (
        f"/calendar/{token}.ics",
        f"/visit-check/{token}",
        f"/waitlist/offers/{token}",
        f"/password/reset/{token}",
        f"/invitation/{token}",
    ):
        assert token not in secret_links.redact(f"GET {path} 200")
