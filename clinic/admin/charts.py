"""SVG charts for the reports, drawn on the server from plain numbers. Pure: no Flask, no DB.

Two kinds: vertical bars over categories (weeks), grouped or stacked per series (techniques),
and horizontal bars per named row (therapists, techniques). Colours are SVG presentation
attributes, never a `style=` attribute, because the content security policy forbids inline
styles. Every piece of text is cleaned of characters XML cannot hold and escaped: names are
typed by admins. Arithmetic is done with exact fractions, so any finite number, however large
or small, gives bars that stay inside the plot area and no NaN in the output.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from html import escape

from babel.numbers import get_decimal_symbol, get_group_symbol

from clinic.text import N_

WIDTH = 720
PALETTE = (
    "#1f5f8b",
    "#d1762f",
    "#3b8f5a",
    "#8e5ea2",
    "#b8405e",
    "#5f6b78",
    "#a68a00",
    "#2a8c82",
)
FONT = 'font-family="system-ui, sans-serif" font-size="12"'
LABEL_CHARS = 24  # row and legend labels longer than this are cut, the full name kept in a title
# Drawn on an empty plot; the caller passes it translated (`no_data=_(NO_DATA)`).
NO_DATA = N_("No data for this period")

# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """One coloured set of bars: a value per category, in the categories' order."""

    name: str
    values: Sequence[float | None]  # None: no figure, drawn as no bar and labelled "—"


def text(value: object) -> str:
    """`value` as XML text or attribute content: invalid characters dropped, then escaped."""
    return escape(_NOT_XML.sub("", str(value)), quote=True)


def _short(name: str, limit: int = LABEL_CHARS) -> str:
    name = _NOT_XML.sub("", name)
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _amount(value: object) -> Fraction:
    """A bar's value as an exact fraction; anything not a finite number >= 0 counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        return Fraction(0)
    if isinstance(value, float) and not math.isfinite(value):
        return Fraction(0)
    amount = Fraction(value)
    return amount if amount > 0 else Fraction(0)


def _nice_step(top: Fraction) -> Fraction:
    """A tick step of 1, 2 or 5 times a power of ten giving about five ticks up to `top`."""
    raw = top / 5
    power = Fraction(1)
    while power * 10 <= raw:
        power *= 10
    while power > raw:
        power /= 10
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _axis(
    top: Fraction, at_least: Fraction = Fraction(0), *, whole: bool = False
) -> tuple[Fraction, list[Fraction]]:
    """The axis maximum (>= top, > 0) and its tick values, 0 included; `whole` keeps the
    ticks on whole numbers (counts: no 0.2 of a booking)."""
    top = max(top, at_least)
    if top <= 0:
        top = Fraction(1)
    step = _nice_step(top)
    if whole:
        step = max(step, Fraction(1))
    axis_max = step * math.ceil(top / step)
    return axis_max, [step * i for i in range(int(axis_max / step) + 1)]


def number(value: Fraction | float | int, locale: str = "en") -> str:
    """A tick or value label: '1,250', '0.25', '3.4e+20' for the very large; with the locale's
    separators elsewhere ('1.250' and '0,25' in Danish)."""
    shown = _english_number(Fraction(value))
    if locale == "en":
        return shown
    swap = {",": get_group_symbol(locale), ".": get_decimal_symbol(locale)}
    return "".join(swap.get(c, c) for c in shown)


def _english_number(value: Fraction) -> str:
    if value.denominator == 1:
        whole = int(value)
        if abs(whole) < 10**15:
            return f"{whole:,}"
        digits = str(abs(whole))
        return f"{'-' if whole < 0 else ''}{digits[0]}.{digits[1:3]}e+{len(digits) - 1}"
    if abs(value) >= 10**15:
        return _english_number(Fraction(round(value)))
    return f"{float(value):.4g}"


def _with_unit(figure: str, unit: str, locale: str) -> str:
    """'25%' in English; '25 %' where the locale spaces its units (Danish)."""
    if not unit:
        return figure
    return f"{figure}{unit}" if locale == "en" else f"{figure} {unit}"


def _ratio(value: Fraction, axis_max: Fraction) -> float:
    return float(min(max(value / axis_max, Fraction(0)), Fraction(1)))


def _f(x: float) -> str:
    return f"{x:.2f}"


def _legend(series: Sequence[Series], top: float) -> tuple[list[str], float]:
    """Legend items flowing in rows from `top`; returns the parts and the height used."""
    if not series:
        return [], 0.0
    parts = ['<g class="legend">']
    x, y, row = 16.0, top, 20.0
    for i, s in enumerate(series):
        label = _short(s.name)
        width = 12 + 6 + 7 * len(label) + 20
        if x + width > WIDTH - 16 and x > 16:
            x, y = 16.0, y + row
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{_f(x)}" y="{_f(y)}" width="12" height="12" fill="{colour}">'
            f"<title>{text(s.name)}</title></rect>"
            f'<text x="{_f(x + 18)}" y="{_f(y + 10)}" {FONT} fill="#222">{text(label)}</text>'
        )
        x += width
    parts.append("</g>")
    return parts, y - top + row


def _open(title: str, description: str, height: float) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_f(height)}" '
        f'width="100%" role="img" aria-label="{text(title)}" class="report-chart">',
        f"<title>{text(title)}</title>",
        f"<desc>{text(description)}</desc>",
    ]


def _values(series: Sequence[Series], count: int) -> list[list[Fraction]]:
    """Each series' values, cut or padded with zeros to `count`."""
    return [
        [_amount(v) for v in list(s.values)[:count]] + [Fraction(0)] * max(count - len(s.values), 0)
        for s in series
    ]


def _no_data(x: float, y: float, width: float, height: float, words: str) -> str:
    return (
        f'<text x="{_f(x + width / 2)}" y="{_f(y + height / 2)}" text-anchor="middle" '
        f'{FONT} fill="#555">{text(words)}</text>'
    )


def bar_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    stacked: bool = False,
    value_label: str = "",
    category_label: str = "",
    locale: str = "en",
    no_data: str = NO_DATA,
) -> str:
    """Vertical bars: one group (or stack) per category, one colour per series.

    `locale` sets the numbers' separators; `no_data` is what an empty plot says."""
    left, right, top, plot_h = 72.0, 16.0, 16.0, 240.0
    plot_w = WIDTH - left - right
    n = len(categories)
    values = _values(series, n)
    tilted = n > 8
    # Past about 16 labels they would overlap: name every k-th category (each bar's own
    # title still names it).
    every = max(math.ceil(n / 16), 1)
    label_h = 64.0 if tilted else 24.0
    if stacked:
        highest = max((sum(col, Fraction(0)) for col in zip(*values, strict=True)), default=0)
    else:
        highest = max((v for row in values for v in row), default=Fraction(0))
    counts = all(v.denominator == 1 for row in values for v in row)
    axis_max, ticks = _axis(Fraction(highest), whole=counts)

    legend_top = top + plot_h + label_h + (24 if category_label else 8)
    legend, legend_h = _legend(series, legend_top)
    parts = _open(title, description, legend_top + legend_h + 8)
    parts.append(
        f'<rect class="plot-area" x="{_f(left)}" y="{_f(top)}" width="{_f(plot_w)}" '
        f'height="{_f(plot_h)}" fill="#ffffff" stroke="#cccccc"/>'
    )
    for tick in ticks:
        y = top + plot_h - _ratio(tick, axis_max) * plot_h
        parts.append(
            f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(left + plot_w)}" y2="{_f(y)}" '
            f'stroke="#e3e3e3"/><text x="{_f(left - 6)}" y="{_f(y + 4)}" text-anchor="end" '
            f'{FONT} fill="#333">{text(number(tick, locale))}</text>'
        )
    if value_label:
        middle = top + plot_h / 2
        parts.append(
            f'<text x="14" y="{_f(middle)}" transform="rotate(-90 14 {_f(middle)})" '
            f'text-anchor="middle" {FONT} fill="#333">{text(value_label)}</text>'
        )
    if not n or not series:
        parts.append(_no_data(left, top, plot_w, plot_h, no_data))
    band = plot_w / max(n, 1)
    groups = 1 if stacked else max(len(series), 1)
    bar_w = band * 0.8 / groups
    for c, category in enumerate(categories):
        base = top + plot_h
        for s, row in enumerate(values):
            height = _ratio(row[c], axis_max) * plot_h
            if stacked:
                x = left + c * band + band * 0.1
                y = max(base - height, top)
                height = base - y
                base = y
            else:
                x = left + c * band + band * 0.1 + s * bar_w
                y = top + plot_h - height
            parts.append(
                f'<rect class="bar" x="{_f(x)}" y="{_f(y)}" width="{_f(bar_w)}" '
                f'height="{_f(height)}" fill="{PALETTE[s % len(PALETTE)]}"><title>'
                f"{text(category)}, {text(series[s].name)}: {text(number(row[c], locale))}"
                "</title></rect>"
            )
        if c % every:
            continue
        cx = left + c * band + band / 2
        ly = top + plot_h + 16
        turn = f' transform="rotate(-45 {_f(cx)} {_f(ly)})"' if tilted else ""
        anchor = "end" if tilted else "middle"
        parts.append(
            f'<text x="{_f(cx)}" y="{_f(ly)}" text-anchor="{anchor}"{turn} {FONT} '
            f'fill="#333">{text(_short(category, 16))}</text>'
        )
    if category_label:
        parts.append(
            f'<text x="{_f(left + plot_w / 2)}" y="{_f(top + plot_h + label_h + 12)}" '
            f'text-anchor="middle" {FONT} fill="#333">{text(category_label)}</text>'
        )
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bar_chart(
    *,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    value_label: str = "",
    unit: str = "",
    at_least: float = 0,
    locale: str = "en",
    no_data: str = NO_DATA,
) -> str:
    """Horizontal bars: one row per category (a therapist), one bar per series in each row.

    `at_least` keeps the axis from ending below it (100 for percentages); `unit` follows each
    bar's value label ('%'); `locale` and `no_data` as for bar_chart.
    """
    left, right, top = 184.0, 72.0, 12.0
    plot_w = WIDTH - left - right
    n = len(categories)
    values = _values(series, n)
    per_row = max(len(series), 1)
    bar_h = 14.0
    band = per_row * bar_h + 12
    plot_h = max(n * band, 48.0)
    highest = max((v for row in values for v in row), default=Fraction(0))
    counts = all(v.denominator == 1 for row in values for v in row)
    axis_max, ticks = _axis(highest, _amount(at_least), whole=counts)

    legend_top = top + plot_h + (44 if value_label else 28)
    legend, legend_h = _legend(series if len(series) > 1 else [], legend_top)
    parts = _open(title, description, legend_top + legend_h + 8)
    parts.append(
        f'<rect class="plot-area" x="{_f(left)}" y="{_f(top)}" width="{_f(plot_w)}" '
        f'height="{_f(plot_h)}" fill="#ffffff" stroke="#cccccc"/>'
    )
    for tick in ticks:
        x = left + _ratio(tick, axis_max) * plot_w
        parts.append(
            f'<line x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(top + plot_h)}" '
            f'stroke="#e3e3e3"/><text x="{_f(x)}" y="{_f(top + plot_h + 16)}" '
            f'text-anchor="middle" {FONT} fill="#333">{text(number(tick, locale))}</text>'
        )
    if value_label:
        parts.append(
            f'<text x="{_f(left + plot_w / 2)}" y="{_f(top + plot_h + 34)}" '
            f'text-anchor="middle" {FONT} fill="#333">{text(value_label)}</text>'
        )
    if not n or not series:
        parts.append(_no_data(left, top, plot_w, plot_h, no_data))
    for c, category in enumerate(categories):
        row_top = top + c * band + 6
        parts.append(
            f'<text x="{_f(left - 8)}" y="{_f(row_top + per_row * bar_h / 2 + 4)}" '
            f'text-anchor="end" {FONT} fill="#222">{text(_short(category))}'
            f"<title>{text(category)}</title></text>"
        )
        for s, row in enumerate(values):
            width = _ratio(row[c], axis_max) * plot_w
            y = row_top + s * bar_h
            raw = list(series[s].values)[c : c + 1]
            # No figure (a rate with nothing to divide by) is not the same as zero.
            shown = _with_unit(number(row[c], locale), unit, locale)
            label = shown if raw and raw[0] is not None else "—"
            parts.append(
                f'<rect class="bar" x="{_f(left)}" y="{_f(y)}" width="{_f(width)}" '
                f'height="{_f(bar_h - 2)}" fill="{PALETTE[s % len(PALETTE)]}"><title>'
                f"{text(category)}, {text(series[s].name)}: {text(label)}</title></rect>"
                f'<text x="{_f(left + width + 4)}" y="{_f(y + bar_h - 4)}" {FONT} '
                f'fill="#222">{text(label)}</text>'
            )
    parts.extend(legend)
    parts.append("</svg>")
    return "".join(parts)
