"""One page of a sortable list, read in two statements: the count and the page (admin lists)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from clinic.extensions import db
from clinic.numbers import whole_number

PAGE_SIZE = 50


@dataclass(frozen=True)
class Page:
    """The rows of one page and what the template needs to link the others."""

    rows: list[Any]
    total: int
    page: int
    per_page: int
    sort: str
    order: str  # "asc" or "desc"

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


def read_sort(args: Mapping[str, str], sorts: Mapping[str, Any], default: str) -> tuple[str, str]:
    """The sort key and direction asked for, falling back to `default` ascending."""
    sort = args.get("sort", default)
    if sort not in sorts:
        sort = default
    order = "desc" if args.get("order") == "desc" else "asc"
    return sort, order


def read_page(args: Mapping[str, str]) -> int:
    """The page asked for; 1 for anything but a whole number a database offset can hold."""
    return max(whole_number(args.get("page")) or 1, 1)


def paged(
    stmt: Select[Any],
    *,
    sort_columns: list[Any],
    tiebreak: Any,
    sort: str,
    order: str,
    page: int,
    per_page: int = PAGE_SIZE,
    scalars: bool = True,
) -> Page:
    """Count the rows of `stmt`, then read page `page` of it ordered by the columns given."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    direction = (lambda c: c.desc()) if order == "desc" else (lambda c: c.asc())
    ordered = stmt.order_by(*(direction(c) for c in sort_columns), tiebreak)
    ordered = ordered.limit(per_page).offset((page - 1) * per_page)
    rows = list(db.session.scalars(ordered) if scalars else db.session.execute(ordered))
    return Page(rows, total or 0, page, per_page, sort, order)
