"""The one table every benchmark reports into: a figure, its baseline from the same run, a ratio."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measured figure beside the baseline it is read against."""

    benchmark: str
    database: str
    bookings: str  # rows in the booking table when measured, "" where it does not matter
    figure: str
    baseline: str
    ratio: str


HEADER = ("benchmark", "database", "bookings", "figure", "baseline (same run)", "ratio")


def size(rows: int) -> str:
    """1,000,000 as "1M", 10,000 as "10k": short labels for the table."""
    if rows >= 1_000_000 and rows % 100_000 == 0:
        return f"{rows / 1_000_000:g}M"
    if rows >= 1_000 and rows % 100 == 0:
        return f"{rows / 1_000:g}k"
    return f"{rows:,}"


def render(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table (it reads the same in a terminal and in an issue note)."""
    cells = [HEADER] + [
        (r.benchmark, r.database, r.bookings, r.figure, r.baseline, r.ratio) for r in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]

    def line(values: Sequence[str]) -> str:
        padded = [
            value.ljust(width) if i < 3 else value.rjust(width)
            for i, (value, width) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(values) for values in cells[1:])])
