"""SVG bar charts: well-formed, accessible, escaped, and safe with no data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from callcenter.backoffice.charts import bar_chart_svg, format_number, horizontal_bar_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '</title><script>alert("x")</script> & <![CDATA[ ]]> \x00\x1b'
HOURS = [f"{h}h" for h in range(24)]
BY_HOUR = [0] * 8 + [5, 12, 9, 7, 3, 1, 6, 8, 7, 5, 4, 2] + [0] * 4


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def accessible_name(root: ET.Element) -> tuple[str, str]:
    """The title and description the root's aria-labelledby points at."""
    assert root.get("role") == "img"
    title_id, desc_id = (root.get("aria-labelledby") or "").split()
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert (title.get("id"), desc.get("id")) == (title_id, desc_id)
    return title.text or "", desc.text or ""


def test_a_bar_chart_is_an_accessible_image_whose_description_lists_every_value():
    root = parse(bar_chart_svg("Appels par heure", HOURS, BY_HOUR, unit="appels"))
    title, desc = accessible_name(root)
    assert title == "Appels par heure"
    assert desc.startswith("0h: 0\u00a0appels; ") and "9h: 12\u00a0appels" in desc
    assert desc.count(";") == 23
    assert "appels" in texts(root)  # the y axis title
    assert {"0h", "12h", "23h"} <= set(texts(root))  # axis labels
    assert {"12", "9", "5"} <= set(texts(root))  # value labels above the bars


def test_bars_are_as_tall_as_their_values_and_each_has_a_tooltip():
    root = parse(bar_chart_svg("t", ["a", "b", "c"], [10, 5, 0]))
    bars = [g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g")]
    heights = [float(bar.get("height", "")) for bar in bars if bar is not None]
    assert heights[0] == 2 * heights[1] and heights[2] == 0
    tips = [t.text for g in root.iter(f"{SVG}g") for t in g.iter(f"{SVG}title")]
    assert tips == ["a: 10", "b: 5", "c: 0"]


def test_fractional_values_show_with_a_decimal_comma_by_default():
    root = parse(bar_chart_svg("Attente", ["moyenne", "p90"], [75.5, 142.25], unit="s"))
    _, desc = accessible_name(root)
    assert desc == "moyenne: 75,5\u00a0s; p90: 142,2\u00a0s"
    english = bar_chart_svg("Wait", ["mean"], [75.5], unit="s", decimal_mark=".")
    assert "75.5" in english and "75,5" not in english


def test_many_bars_keep_only_labels_that_fit():
    days = [f"{d:02}/11" for d in range(1, 31)]
    root = parse(bar_chart_svg("Appels par jour", days, list(range(30))))
    shown = [t for t in texts(root) if t in days]
    assert shown[0] == "01/11" and 5 <= len(shown) < 30
    _, desc = accessible_name(root)
    assert all(f"{day}: " in desc for day in days)  # every value is still described


def test_a_hostile_title_and_labels_are_escaped_and_the_svg_stays_well_formed():
    for svg in (
        bar_chart_svg(HOSTILE, [HOSTILE, "b"], [1, 2], unit=HOSTILE),
        horizontal_bar_chart_svg(HOSTILE, [HOSTILE], [3], unit=HOSTILE),
    ):
        root = parse(svg)
        assert "<script" not in svg and root.find(f".//{SVG}script") is None
        title, desc = accessible_name(root)
        assert title == HOSTILE.replace("\x00", "").replace("\x1b", "")
        assert "</title><script>" in desc  # as text, not markup


@pytest.mark.parametrize("draw", [bar_chart_svg, horizontal_bar_chart_svg])
def test_zeros_and_no_data_draw_without_dividing_by_zero(draw):
    zeros = parse(draw("Zéro", ["a", "b"], [0, 0]))
    assert all(float(r.get("width", "1")) >= 0 for r in zeros.iter(f"{SVG}rect"))
    empty = parse(draw("Vide", [], []))
    _, desc = accessible_name(empty)
    assert desc == "aucune donnée" and "aucune donnée" in texts(empty)
    assert "nothing" in draw("Empty", [], [], empty_text="nothing")


def test_the_horizontal_chart_shows_values_and_shares_of_the_total():
    labels = ["pris par le secrétariat", "messages", "raccroché"]
    root = parse(horizontal_bar_chart_svg("Issues", labels, [6, 3, 1]))
    _, desc = accessible_name(root)
    assert desc == (
        "pris par le secrétariat: 6 (60\u00a0%); messages: 3 (30\u00a0%); raccroché: 1 (10\u00a0%)"
    )
    assert set(labels) <= set(texts(root)) and "6 (60\u00a0%)" in texts(root)
    widths = [float(g.find(f"{SVG}rect").get("width", "")) for g in root.iter(f"{SVG}g")]
    assert widths[0] == 2 * widths[1]
    zero = horizontal_bar_chart_svg("Issues", ["a"], [0])
    assert "\u00a0%" not in zero
    assert "\u00a0%" not in horizontal_bar_chart_svg("x", ["a"], [2], shares=False)


def test_two_different_charts_on_one_page_have_different_ids():
    one = parse(bar_chart_svg("Appels", ["a"], [1]))
    two = parse(bar_chart_svg("Appels", ["a"], [2]))
    assert one.get("aria-labelledby") != two.get("aria-labelledby")


@pytest.mark.parametrize(
    ("labels", "values", "message"),
    [
        (["a"], [1, 2], "1 labels for 2 values"),
        (["a"], [-1], "not negative"),
        (["a"], [float("nan")], "finite"),
        (["a"], [float("inf")], "finite"),
    ],
)
def test_impossible_data_is_refused(labels, values, message):
    with pytest.raises(ValueError, match=message):
        bar_chart_svg("t", labels, values)
    with pytest.raises(ValueError, match=message):
        horizontal_bar_chart_svg("t", labels, values)


def test_numbers_are_formatted_for_reading():
    assert format_number(12) == "12" and format_number(12.0) == "12"
    assert format_number(75.5) == "75,5" and format_number(0.25, ".") == "0.25"


def test_the_y_axis_has_round_ticks_above_the_largest_value():
    root = parse(bar_chart_svg("t", ["a", "b"], [3, 17]))
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "5", "10", "15", "20"]
    counts = parse(bar_chart_svg("t", ["a"], [1]))
    ticks = [t.text for t in counts.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "1"]  # no half a call
