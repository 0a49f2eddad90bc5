"""Whole numbers typed or sent by people: ids, page numbers, minutes.

`str.isdigit()` says yes to "²" (a superscript two), and `int()` reads numbers no database
column holds; both ended in a 500. Pure: no Flask, no database.
"""

from __future__ import annotations

# The largest value of a 32-bit INTEGER column (PostgreSQL); SQLite's ids fit it too.
MAX_INT = 2**31 - 1


def whole_number(text: object, *, maximum: int = MAX_INT) -> int | None:
    """`text` as a whole number from 0 to `maximum` when it is ASCII digits only, else None."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= maximum else None
