"""Pure rules of the admin's catalogue pages: prices typed in kroner, certificate coverage."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.booking.staffing import uncovered
from clinic.catalog.expiry import is_renewed
from clinic.catalog.pricing import MAX_PRICE, PriceError, parse_price, price_input

CPH = ZoneInfo("Europe/Copenhagen")


@pytest.mark.parametrize(
    ("typed", "ore"),
    [
        ("650", 650_00),  # whole kroner
        ("650,00", 650_00),  # Danish decimal comma
        ("650,5", 650_50),  # one decimal is tenths
        ("650.50", 650_50),  # a dot before two digits is a decimal mark too
        ("1.250", 1250_00),  # a dot before three digits separates thousands
        ("1 250,75", 1250_75),  # so does a space
        (" kr 650 ", 650_00),  # the currency around the number
        ("650 DKK", 650_00),
        ("0", 0),  # a free session is allowed
        ("20000", MAX_PRICE * 100),  # the highest price
    ],
)
def test_prices_are_read_in_ore(typed, ore):
    assert parse_price(typed) == ore


@pytest.mark.parametrize(
    "typed",
    [
        "",  # nothing
        "-650",  # negative
        "6,505",  # three decimals
        "abc",
        "1.25.0",
        "20000,01",  # above the highest price
        "650 EUR",  # another currency
    ],
)
def test_unreadable_prices_are_refused(typed):
    with pytest.raises(PriceError):
        parse_price(typed)


@given(st.integers(min_value=0, max_value=MAX_PRICE * 100))
def test_a_stored_price_put_back_in_the_form_reads_the_same(ore):
    assert parse_price(price_input(ore)) == ore


def test_a_booking_is_covered_by_a_certificate_valid_on_its_local_date():
    certificates = [(1, 10, date(2027, 1, 1), date(2027, 3, 23))]
    bookings = [
        (100, 1, 10, datetime(2027, 3, 23, 9, 0, tzinfo=UTC)),  # the last valid day
        (101, 1, 10, datetime(2027, 3, 24, 9, 0, tzinfo=UTC)),  # the day after
        # 23:30 UTC on the 23rd is 00:30 on the 24th in Copenhagen: after the expiry.
        (102, 1, 10, datetime(2027, 3, 23, 23, 30, tzinfo=UTC)),
        (103, 1, 11, datetime(2027, 3, 22, 9, 0, tzinfo=UTC)),  # another technique
        (104, 2, 10, datetime(2027, 3, 22, 9, 0, tzinfo=UTC)),  # another therapist
        (105, 1, 10, datetime(2026, 12, 31, 12, 0, tzinfo=UTC)),  # before the first day
    ]
    assert uncovered(bookings, certificates, CPH) == [101, 102, 103, 104, 105]


def test_a_second_certificate_covers_what_the_first_does_not():
    certificates = [
        (1, 10, date(2027, 1, 1), date(2027, 3, 23)),
        (1, 10, date(2027, 3, 25), date(2028, 1, 1)),
    ]
    bookings = [
        (1, 1, 10, datetime(2027, 3, 24, 9, 0, tzinfo=UTC)),  # the gap day
        (2, 1, 10, datetime(2027, 3, 25, 9, 0, tzinfo=UTC)),
    ]
    assert uncovered(bookings, certificates, CPH) == [1]


@pytest.mark.parametrize(
    ("others", "renewed"),
    [
        ([(1, 10, date(2027, 4, 11), date(2030, 1, 1))], True),  # starts the day after
        ([(1, 10, date(2027, 1, 1), date(2030, 1, 1))], True),  # overlaps it
        ([(1, 10, date(2027, 4, 12), date(2030, 1, 1))], False),  # a day's gap
        ([(1, 11, date(2027, 4, 11), date(2030, 1, 1))], False),  # another technique
        ([(2, 10, date(2027, 4, 11), date(2030, 1, 1))], False),  # another therapist
        ([(1, 10, date(2027, 1, 1), date(2027, 4, 10))], False),  # itself, or one as short
        ([], False),
    ],
)
def test_a_certificate_is_renewed_only_without_a_gap(others, renewed):
    assert is_renewed((1, 10, date(2027, 4, 10)), others) is renewed
