"""The server-side charts: well-formed, escaped, scaled, and free of inline styles (CSP)."""

from datetime import date
from xml.etree import ElementTree

from papertide.web.charts import Bar, bar_list, cumulative, line_chart, nice_ceiling, sparkline

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ElementTree.Element:
    # Inline SVG in HTML has no namespace; add it so the XML parser checks well-formedness.
    return ElementTree.fromstring(str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_nice_ceiling_rounds_up_to_a_readable_axis_top():
    assert [nice_ceiling(v) for v in (0, 0.4, 1, 3, 7, 11, 240, 251, 999)] == [1, 1, 1, 5, 10, 20, 250, 500, 1000]


def test_cumulative_sorts_by_day_and_starts_from_imported_votes():
    days = [(date(2026, 1, 3), 2), (date(2026, 1, 1), 5)]
    assert cumulative(days, start=10) == [(date(2026, 1, 1), 15), (date(2026, 1, 3), 17)]


def parse_list(markup) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" '))


def test_bar_list_scales_bars_to_the_largest_value_and_escapes_labels():
    html = bar_list([Bar("<script>alert(1)</script>", 50, href="/papers/1?a=1&b=2"), Bar("Small", 10)], title="Rising & hot")
    assert "<script>" not in html and "&lt;script&gt;" in html
    root = parse_list(html)
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")]
    assert widths[0] == 5 * widths[1]
    assert root.find(".//a").get("href") == "/papers/1?a=1&b=2"
    assert root.get("aria-label") == "Rising & hot"
    # The labels are page text, outside the SVGs, so they do not shrink with them on a phone.
    assert [svg.find(f"{SVG}text") for svg in root.iter(f"{SVG}svg")] == [None, None]


def test_a_bar_sets_its_part_apart_at_its_end():
    root = parse_list(bar_list([Bar("Gained three", 100, part=3, note="+3"), Bar("Quiet", 40)], title="t"))
    first, second = [list(svg) for svg in root.iter(f"{SVG}svg")]
    whole, part = first
    assert part.get("class") == "chart-bar-part"
    assert float(part.get("x")) + float(part.get("width")) == float(whole.get("width"))
    assert float(part.get("width")) == 0.03 * float(whole.get("width"))
    assert len(second) == 1 and "+3" in str(ElementTree.tostring(root))


def test_line_chart_draws_a_path_ending_at_the_last_value():
    svg = line_chart([(date(2026, 3, 2), 40), (date(2026, 3, 1), 12)], title="Upvotes")
    root = parse(svg)
    paths = list(root.iter(f"{SVG}path"))
    assert len(paths) == 2
    assert "Mar 1, 2026" in svg and "Mar 2, 2026" in svg
    # The axis top is the nice ceiling of the maximum (40 -> 50).
    assert ">50<" in svg


def test_line_chart_without_points_says_so():
    assert "No votes yet" in line_chart([], title="Upvotes")


def test_single_point_line_chart_is_well_formed():
    parse(line_chart([(date(2026, 3, 1), 3)], title="Upvotes"))
    parse(sparkline([1, 4, 2], title="votes"))
    parse(sparkline([], title="votes"))


def test_no_chart_uses_inline_styles_or_scripts():
    for svg in (bar_list([Bar("a", 1, part=1)], title="t"), line_chart([(date(2026, 1, 1), 1)], title="t"), sparkline([1], title="t")):
        assert "style=" not in svg and "<script" not in svg and " on" not in svg.replace(" one", "")
