"""Whole numbers from people: ASCII digits that a database column holds, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.numbers import MAX_INT, whole_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        (str(MAX_INT), MAX_INT),
        (str(MAX_INT + 1), None),  # no INTEGER column holds it
        ("99999999999999999999", None),
        ("²", None),  # isdigit() is True, int() fails: this was a 500
        ("١٢", None),  # Arabic-Indic digits: int() reads them, but no link or form sends them
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("1e3", None),
        ("", None),
        (None, None),
        (12, None),  # only text is read
    ],
)
def test_whole_number(text, expected):
    assert whole_number(text) == expected


def test_a_smaller_maximum():
    assert whole_number("240", maximum=240) == 240
    assert whole_number("241", maximum=240) is None


@given(st.text())
def test_never_raises_and_stays_in_range(text):
    value = whole_number(text)
    if value is not None:
        assert text.isascii() and int(text) == value and 0 <= value <= MAX_INT
