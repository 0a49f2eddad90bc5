"""Hostile input for the property-based tests in tests/integration/test_hostile_input.py.

Hypothesis strategies of bad values (very long, empty, odd unicode, markup, SQL, wrong types,
far-away dates, huge numbers), a reader of a page's form fields, and a fingerprint of every
stored row, so a test can tell that a refused request changed nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select

from clinic.extensions import db

# Markup that must never come back as it was sent: a page may show it escaped, never raw.
MARKUP = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)//<b>x</b>",
)

FIXED = (
    "",
    " ",
    "\t\n\r ",
    "a" * 10_000,
    "é" * 5_000,
    "\u202eevil\u202c",  # right-to-left override
    "\u200f\u200e\u200b",  # RTL/LTR marks, zero-width space
    "🦴💆‍♀️🧘🏽",
    "e\u0301\u0301\u0301\u0301",  # combining accents
    "nul\x00byte",
    "\x01\x02\x1b[31m\x7f",
    "' OR 1=1 --",
    "'; DROP TABLE user; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)",
    "%s%s%n{0}{}",
    "../../etc/passwd",
    "-1",
    "²³",  # str.isdigit() says yes, int() says no
    "١٢",  # Arabic-Indic digits: int() reads them
    "0",
    "1e309",
    "NaN",
    "-Infinity",
    "99999999999999999999",
    "2147483648",
    "-2147483649",
    "3.5",
    "0x10",
    "true",
    "null",
    "[]",
    "{}",
    "9999-12-31",
    "0001-01-01",
    "2027-02-30",
    "2027-13-01",
    "24:61",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "2027-03-22T25:00",
    "mallory@example.com",
    "a@b",
    "@@",
    *MARKUP,
)

# The fixed values three times out of five: they are the ones that found the bugs (a page
# number of 20 digits, a superscript digit, the first day of year 1).
hostile_text = st.one_of(
    st.sampled_from(FIXED),
    st.sampled_from(FIXED),
    st.sampled_from(FIXED),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=300, max_size=2_000),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.dates().map(str),
)

# A form value as a browser could never send it but an attacker can: one value, several
# values under one name (a list), or the field left out (None).
hostile_form_value = st.one_of(
    hostile_text,
    hostile_text,
    st.lists(hostile_text, min_size=2, max_size=3),
    st.none(),
)

json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def json_body(fields: tuple[str, ...]) -> st.SearchStrategy[Any]:
    """A body for a JSON call that expects an object with `fields`: of the wrong shape, or the
    right shape with hostile values (a third of the fields left out)."""
    right_shape = st.builds(
        lambda body, extra: {**body, **extra},
        st.fixed_dictionaries({}, optional=dict.fromkeys(fields, json_value)),
        st.dictionaries(st.sampled_from(("extra", "id", "client_id")), json_value, max_size=1),
    )
    return st.one_of(right_shape, right_shape, json_value)


raw_body = st.one_of(
    st.binary(max_size=200),
    st.sampled_from((b"", b"{", b"not json", b'{"a":', b"\xff\xfe", b"[1,2", b"null")),
)


def markup_in(values: Any) -> list[str]:
    """The MARKUP payloads contained anywhere in `values` (strings, lists, dicts)."""
    if isinstance(values, str):
        return [m for m in MARKUP if m in values]
    if isinstance(values, dict):
        return [m for v in values.values() for m in markup_in(v)]
    if isinstance(values, list | tuple):
        return [m for v in values for m in markup_in(v)]
    return []


# --- reading a page's form ------------------------------------------------------------------


@dataclass
class FormFields:
    """The named controls of one form: name -> a value the page itself offers."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[FormFields] = []
        self._form: FormFields | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = FormFields(a.get("action", ""))
            self.forms.append(self._form)
        if self._form is None or (not a.get("name") and tag != "option"):
            return
        if tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio"):
                self._form.fields.setdefault(a["name"], a.get("value", "y"))
            else:
                self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._form.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
            self._form.fields[a["name"]] = ""
        elif tag == "option" and self._select and not self._form.fields[self._select]:
            self._form.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def form_on(html: str, action: str, page: str) -> FormFields:
    """The POST form on `page` that posts to `action` (paths, queries ignored); a form with no
    action posts to its own page."""
    reader = _FormReader()
    reader.feed(html)
    for form in reader.forms:
        if (form.action or page).split("?")[0] == action:
            form.fields.pop("csrf_token", None)
            return form
    raise AssertionError(f"no form posting to {action}; forms: {[f.action for f in reader.forms]}")


# --- what is stored -------------------------------------------------------------------------

# Rows a refused request may still write, each for a reason:
# - api_token: every call with a good token notes its last use, refused or not.
# - user's failed-login counter and lock: a refused login is counted on purpose (lockout).
# - audit entries of views (screening.viewed, screening.notes_viewed, treatment.note_viewed):
#   staff reading health data is logged on every page that shows it, a refused form too.
IGNORED_COLUMNS = {
    "api_token": {"last_used_at"},
    "user": {"failed_logins", "failed_login_since", "locked_until"},
}


def fingerprint() -> dict[str, str]:
    """Per table: row count and a digest of every row (needs an app context)."""
    db.session.rollback()  # read what is committed, not what this session still holds
    found: dict[str, str] = {}
    for table in db.metadata.sorted_tables:
        skip = IGNORED_COLUMNS.get(table.name, set())
        columns = [c for c in table.columns if c.name not in skip]
        query = select(*columns)
        if table.name == "audit_entry":
            query = query.where(~table.c.action.like("%viewed"))
        rows = sorted(repr(tuple(r)) for r in db.session.execute(query))
        digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
        found[table.name] = f"{len(rows)}:{digest}"
    db.session.rollback()
    return found


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]
