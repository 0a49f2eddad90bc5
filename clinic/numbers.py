"""Whole numbers and days typed or sent by people: ids, page numbers, minutes, dates.

`str.isdigit()` says yes to "²" (a superscript two), and `int()` reads numbers no database
column holds; both ended in a 500. So did days at the ends of the calendar (0001-01-01 has no
midnight in UTC, 9999-12-31 no next day). Pure: no Flask, no database.
"""

from __future__ import annotations

from datetime import date

from clinic.text import N_

# The days a form or filter accepts, as the calendar pages do.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
# A literal, so the catalogue holds it: the forms that show it translate it, `_(DAY_RANGE_MESSAGE)`.
DAY_RANGE_MESSAGE = N_("Choose a date from 2000 to 2099.")

# The largest value of a 32-bit INTEGER column (PostgreSQL); SQLite's ids fit it too.
MAX_INT = 2**31 - 1


def whole_number(text: object, *, maximum: int = MAX_INT) -> int | None:
    """`text` as a whole number from 0 to `maximum` when it is ASCII digits only, else None."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= maximum else None


def usable_day(day: date) -> bool:
    """Whether `day` is one the clinic's forms and filters work with."""
    return FIRST_DAY <= day <= LAST_DAY
