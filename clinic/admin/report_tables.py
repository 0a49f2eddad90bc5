"""A report's tables and their CSV form. Pure: no Flask, no DB.

A report is a few tables of plain cells (text, whole numbers, per cents, dates or None for "no
figure") and the charts drawn from them. The page and the CSV download show the same cells: the
page in the reader's language and number format (`shown`), the CSV always as plain English
figures (`to_csv`), because spreadsheets and scripts read it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal

Cell = str | int | float | date | None

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    label: str
    numeric: bool = False  # right-aligned on the page
    unit: str = ""  # shown after the number on the page ('%'), never in the CSV
    nowrap: bool = False  # short codes such as weeks and dates, kept on one line

    @property
    def css(self) -> str:
        """The cell's classes on the page: numbers right-aligned, none of them broken."""
        return " ".join(
            c
            for c, on in (("text-end", self.numeric), ("text-nowrap", self.numeric or self.nowrap))
            if on
        )


@dataclass(frozen=True)
class Table:
    caption: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    totals: Sequence[Cell] | None = None  # a last row, set apart on the page


@dataclass(frozen=True)
class Report:
    tables: Sequence[Table]
    charts: Sequence[str] = field(default_factory=tuple)  # SVG documents


def shown(cell: Cell, column: Column, locale: str = "en") -> str:
    """A cell as the page shows it: '25.0%', '1,250', '2027-03-22', '—' for no figure; in
    Danish '25,0 %', '1.250', '22.03.2027'."""
    if cell is None:
        return "—"
    if locale != "en" and isinstance(cell, int | float):
        pattern = "#,##0.0" if isinstance(cell, float) else "#,##0"
        figure = format_decimal(cell, pattern, locale=locale)
        return f"{figure} {column.unit}" if column.unit else figure
    if isinstance(cell, float):
        return f"{cell:,.1f}{column.unit}"
    if isinstance(cell, int):
        return f"{cell:,}{column.unit}"
    if isinstance(cell, date):
        return cell.isoformat() if locale == "en" else format_date(cell, "dd.MM.y", locale=locale)
    return cell


def safe_text(cell: Cell) -> Cell:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; numbers stay."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def to_csv(report: Report) -> str:
    """Every table of the report: its caption, its header, its rows, a blank line between.

    Build the report in English for it (report_views does): its column headers are what
    scripts read. Dates are written as ISO dates, numbers as plain figures.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for n, table in enumerate(report.tables):
        if n:
            writer.writerow([])
        if len(report.tables) > 1:
            writer.writerow([safe_text(table.caption)])
        writer.writerow([safe_text(c.label) for c in table.columns])
        for row in [*table.rows, *([table.totals] if table.totals else [])]:
            writer.writerow(["" if cell is None else safe_text(cell) for cell in row])
    return out.getvalue()
