"""The SVG charts: well-formed for any data, bars inside the plot, names escaped, accessible."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinic.admin.charts import Series, bar_chart, horizontal_bar_chart, number

SVG = "{http://www.w3.org/2000/svg}"


GEOMETRY = ("x", "y", "width", "height", "x1", "y1", "x2", "y2")


def parse(svg: str) -> ET.Element:
    """The chart as XML, after checking every coordinate is a finite number."""
    root = ET.fromstring(svg)  # noqa: S314  (our own output, not someone else's XML)
    for element in root.iter():
        assert "style" not in element.attrib  # the CSP forbids inline styles
        for name in GEOMETRY if element is not root else ():
            if name in element.attrib:
                assert math.isfinite(float(element.get(name))), ET.tostring(element)
    return root


def plot_and_bars(root: ET.Element) -> tuple[tuple[float, ...], list[tuple[float, ...]]]:
    [plot] = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "plot-area"]
    box = tuple(float(plot.get(k)) for k in ("x", "y", "width", "height"))
    bars = [
        tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))
        for r in root.iter(f"{SVG}rect")
        if r.get("class") == "bar"
    ]
    return box, bars


def assert_inside(box: tuple[float, ...], bars: list[tuple[float, ...]]) -> None:
    px, py, pw, ph = box
    for x, y, w, h in bars:
        assert w >= 0 and h >= 0
        assert px - 0.01 <= x and x + w <= px + pw + 0.01
        assert py - 0.01 <= y and y + h <= py + ph + 0.01


def weekly(**kw):
    values = {
        "title": "Bookings per week",
        "description": "Bookings per technique per week.",
        "categories": ["W12", "W13"],
        "series": [Series("Sports", [2, 2]), Series("Classic", [2, 3])],
    }
    values.update(kw)
    return bar_chart(**values)


def test_chart_names_itself_for_screen_readers():
    root = parse(weekly())
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Bookings per week"
    assert root.find(f"{SVG}title").text == "Bookings per week"
    assert root.find(f"{SVG}desc").text == "Bookings per technique per week."


def test_legend_names_each_series_with_its_own_colour():
    root = parse(weekly())
    legend = root.find(f".//{SVG}g[@class='legend']")
    assert [t.text for t in legend.iter(f"{SVG}text")] == ["Sports", "Classic"]
    colours = [r.get("fill") for r in legend.iter(f"{SVG}rect")]
    assert len(set(colours)) == 2 and all(c.startswith("#") for c in colours)


def test_grouped_bars_are_as_tall_as_their_values():
    root = parse(weekly())
    (_, py, _, ph), bars = plot_and_bars(root)
    heights = [h for _, _, _, h in bars]
    # The axis runs 0..3 (the highest value 3 is a round tick); 2 of 3 is two thirds.
    assert heights == pytest.approx([ph * 2 / 3, ph * 2 / 3, ph * 2 / 3, ph])
    assert all(y + h == pytest.approx(py + ph) for _, y, _, h in bars)  # all stand on the axis


def test_stacked_bars_pile_up_to_the_total():
    root = parse(weekly(stacked=True))
    (_, py, _, ph), bars = plot_and_bars(root)
    # Totals 4 and 5; the axis ends at 5, so the second stack fills the plot.
    w12 = [b for b in bars if b[0] == bars[0][0]]
    w13 = [b for b in bars if b[0] != bars[0][0]]
    assert sum(h for *_, h in w12) == pytest.approx(ph * 4 / 5)
    assert sum(h for *_, h in w13) == pytest.approx(ph)
    assert min(y for _, y, _, _ in w13) == pytest.approx(py)


def test_names_are_escaped_not_markup():
    evil = '<script>alert("x")</script> & Ørsted'
    svg = horizontal_bar_chart(
        title=evil, description=evil, categories=[evil], series=[Series(evil, [5])]
    )
    assert "<script" not in svg
    root = parse(svg)
    assert root.get("aria-label") == evil
    assert any(t.text == evil for t in root.iter(f"{SVG}title"))


def test_control_characters_that_xml_cannot_hold_are_dropped():
    root = parse(weekly(categories=["a\x00b\x1fc", "W13"]))
    assert "abc" in ET.tostring(root, encoding="unicode")


def test_empty_chart_says_so_and_draws_no_bars():
    for svg in (
        bar_chart(title="t", description="d", categories=[], series=[]),
        horizontal_bar_chart(title="t", description="d", categories=[], series=[]),
    ):
        root = parse(svg)
        assert "No data for this period" in ET.tostring(root, encoding="unicode")
        assert plot_and_bars(root)[1] == []


def test_all_zero_values_give_flat_bars_on_a_real_axis():
    root = parse(weekly(series=[Series("Sports", [0, 0])]))
    _, bars = plot_and_bars(root)
    assert [h for *_, h in bars] == [0, 0]


def test_percentages_keep_an_axis_to_100_and_label_values():
    svg = horizontal_bar_chart(
        title="Utilisation",
        description="d",
        categories=["Anna", "Bo"],
        series=[Series("Utilisation", [25.0, 50.0])],
        unit="%",
        at_least=100,
    )
    root = parse(svg)
    (_, _, pw, _), bars = plot_and_bars(root)
    assert [w for _, _, w, _ in bars] == pytest.approx([pw / 4, pw / 2])
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "25%" in labels and "50%" in labels and "100" in labels


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (1250, "1,250"),
        (Fraction(1, 4), "0.25"),
        (33.3, "33.3"),
        (10**20, "1.00e+20"),  # too long to read in full
    ],
)
def test_number_labels(value, shown):
    assert number(value) == shown


names = st.text(max_size=40)
amounts = st.one_of(
    st.integers(min_value=-5, max_value=10**30),
    st.floats(),  # NaN, infinities, the largest and the tiniest floats included
)


@given(
    categories=st.lists(names, max_size=14),
    series=st.lists(st.tuples(names, st.lists(amounts, max_size=16)), max_size=5),
    stacked=st.booleans(),
)
def test_any_data_gives_a_well_formed_vertical_chart(categories, series, stacked):
    svg = bar_chart(
        title="Any",
        description="any data",
        categories=categories,
        series=[Series(n, v) for n, v in series],
        stacked=stacked,
        value_label="Bookings",
        category_label="Week",
    )
    box, bars = plot_and_bars(parse(svg))
    assert len(bars) == (len(categories) * len(series))
    assert_inside(box, bars)


@given(
    categories=st.lists(names, max_size=14),
    series=st.lists(st.tuples(names, st.lists(amounts, max_size=16)), max_size=3),
)
def test_any_data_gives_a_well_formed_horizontal_chart(categories, series):
    svg = horizontal_bar_chart(
        title="Any",
        description="any data",
        categories=categories,
        series=[Series(n, v) for n, v in series],
        unit="%",
        at_least=100,
    )
    root = parse(svg)
    box, bars = plot_and_bars(root)
    assert len(bars) == len(categories) * len(series)
    assert_inside(box, bars)
    # Every row's full name is there as text (its title), never as markup; XML keeps all but
    # the characters it cannot hold, and reads a carriage return as a line feed.
    titles = {t.text or "" for t in root.iter(f"{SVG}title")}
    for name in categories:
        kept = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]", "", name)
        assert kept.replace("\r\n", "\n").replace("\r", "\n") in titles


def test_no_figure_is_labelled_as_such_not_as_zero():
    root = parse(
        horizontal_bar_chart(
            title="No-show rate",
            description="d",
            categories=["Anna", "David"],
            series=[Series("No-show rate", [0.0, None])],
            unit="%",
        )
    )
    _, bars = plot_and_bars(root)
    assert [w for _, _, w, _ in bars] == [0, 0]
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "0%" in labels and "—" in labels


def test_counts_get_whole_ticks_and_many_weeks_get_spaced_labels():
    weeks = [f"2026-W{n:02d}" for n in range(1, 54)]
    root = parse(weekly(categories=weeks, series=[Series("Sports", [1] + [0] * 52)]))
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "0.2" not in labels and "0" in labels and "1" in labels
    shown_weeks = [t for t in labels if t in weeks]
    # Every 4th of 53 weeks: 14 labels, the first week among them; all 53 bars drawn.
    assert len(shown_weeks) == 14 and shown_weeks[0] == "2026-W01"
    assert len(plot_and_bars(root)[1]) == 53
