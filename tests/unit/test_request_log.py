"""The request log's pure parts: which incoming request ids are kept, and what a path logs as."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.request_log import loggable_path, request_id
from clinic.secret_links import new_token

SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


@given(st.text(max_size=200))
def test_any_incoming_id_gives_a_plain_id_of_a_safe_shape(incoming):
    kept = request_id(incoming)
    assert SAFE_ID.fullmatch(kept)
    assert kept == incoming or re.fullmatch(r"[0-9a-f]{32}", kept)


@given(st.from_regex(SAFE_ID, fullmatch=True))
def test_a_sane_incoming_id_is_kept(incoming):
    assert request_id(incoming) == incoming


def test_missing_ids_are_made_fresh_and_different():
    assert request_id(None) != request_id(None)
    assert request_id("") != request_id("")


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/techniques/sports-massage", "/techniques/sports-massage"),  # slugs stay
        ("/bookings/12345/reschedule", "/bookings/12345/reschedule"),  # ids stay
        ("/therapists/deep-tissue-and-trigger-point", "/therapists/deep-tissue-and-trigger-point"),
        ("/invitation/eyJ1IjoxfQ.ZxY3aw.Kq9-Wd1bT0v", "/invitation/[redacted]"),  # itsdangerous
        ("/password/reset/eyJ1IjoxfQ.ZxY3aw.Kq9-Wd1bT0v", "/password/reset/[redacted]"),
        ("/password/reset/short", "/password/reset/[redacted]"),  # whatever its shape
        ("/invitation/no-digits-at-all", "/invitation/[redacted]"),
        ("/bookings/abcdefghij0123456789xyz/plan", "/bookings/[redacted]/plan"),  # token-shaped
    ],
)
def test_token_shaped_segments_are_redacted(path, logged):
    assert loggable_path(path) == logged


@given(st.sampled_from(["/calendar/{}.ics", "/visit-check/{}", "/waitlist/offers/{}"]))
def test_a_secret_link_never_logs_its_token(template):
    token, _ = new_token()
    logged = loggable_path(template.format(token))
    assert token not in logged
    assert "[redacted]" in logged
