"""How money, dates and instants read on the pages."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.templating import format_date, format_day_name, format_local_datetime, format_money


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (650_00, "DKK 650"),  # whole kroner
        (925_50, "DKK 925.50"),  # with øre
        (0, "DKK 0"),  # free
        (1_250_00, "DKK 1,250"),  # thousands separated
        (5, "DKK 0.05"),  # øre only
    ],
)
def test_money(minor, text):
    assert format_money(minor) == text


@given(st.integers(min_value=0, max_value=10**9))
def test_money_reads_back_to_the_same_amount(minor):
    amount = format_money(minor).removeprefix("DKK ").replace(",", "")
    whole, _, cents = amount.partition(".")
    assert int(whole) * 100 + int(cents or 0) == minor


def test_date():
    assert format_date(date(2027, 3, 29)) == "Monday 29 March 2027"


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2027, 3, 29, 7, 0, tzinfo=UTC), "29 March 2027, 09:00 CEST"),  # summer time
        (datetime(2027, 1, 4, 8, 0, tzinfo=UTC), "4 January 2027, 09:00 CET"),  # winter time
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "25 October 2026, 02:30 CEST"),  # 1st 02:30
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25 October 2026, 02:30 CET"),  # 2nd 02:30
    ],
)
def test_local_datetime_shows_clinic_time_and_zone(instant, text):
    assert format_local_datetime(instant, "Europe/Copenhagen") == text


# --- in Danish --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "text"),
    [
        (650_00, "650 kr."),
        (925_50, "925,50 kr."),  # a decimal comma
        (1_250_00, "1.250 kr."),  # a thousands point
        (0, "0 kr."),
    ],
)
def test_money_in_danish(minor, text):
    assert format_money(minor, "DKK", "da") == text


@given(st.integers(min_value=0, max_value=10**9))
def test_danish_money_reads_back_to_the_same_amount(minor):
    amount = format_money(minor, "DKK", "da").removesuffix(" kr.").replace(".", "")
    whole, _, cents = amount.partition(",")
    assert int(whole) * 100 + int(cents or 0) == minor


def test_dates_in_danish():
    assert format_date(date(2027, 3, 29), "da") == "mandag 29. marts 2027"
    assert format_day_name(date(2027, 3, 29), "da") == "mandag 29. marts"
    assert format_day_name(date(2027, 3, 29)) == "Monday 29 March"


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        (datetime(2027, 3, 29, 7, 0, tzinfo=UTC), "29. marts 2027 kl. 09:00 CEST"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25. oktober 2026 kl. 02:30 CET"),
    ],
)
def test_local_datetime_in_danish_keeps_the_clinic_clock(instant, text):
    assert format_local_datetime(instant, "Europe/Copenhagen", "da") == text
