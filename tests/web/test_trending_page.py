"""``/trending`` names the days it covers, falls back to the newest days with papers and says so,
and draws what gained votes against each paper's upvotes (issue 17, point 2)."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

from fastapi.testclient import TestClient

from tests.catalog.helpers import NOW
from tests.web.helpers import Visitor, build_app, settings_for


def bar_list(html: str) -> list[tuple[str, float, float, str]]:
    """(label, bar width, width of the part set apart, note) of each bar of the page's chart."""
    chart = re.search(r'<ol class="bar-list".*?</ol>', html, re.S)[0]
    root = ElementTree.fromstring(chart.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" '))
    bars = []
    for item in root.iter("li"):
        rects = list(item.iter("{http://www.w3.org/2000/svg}rect"))
        label = "".join(item.find("span").itertext())
        note = item.find(".//span[@class='bar-note']").text
        bars.append((label, float(rects[0].get("width")), float(rects[1].get("width")) if len(rects) > 1 else 0.0, note))
    return bars


def kicker(html: str) -> str:
    return re.search(r'data-testid="trending-window">([^<]*)<', html)[1]


def test_the_current_window_is_named_by_its_dates(client):
    page = client.get("/trending").text
    assert kicker(page) == "Last 7 days · 15–21 Aug 2025"
    assert "this week" not in page.lower()
    assert 'data-testid="trending-fallback"' not in page
    # Nobody voted here: the chart says so and shows the window's most upvoted papers, as that.
    assert "No votes in the last 7 days" in page and "Nobody upvoted a paper 15–21 Aug 2025" in page
    assert [(label, note) for label, _, _, note in bar_list(page)][:2] == [
        ("Reinforcement learning from feedback", "40"), ("Diffusion models for protein design", "12")]


def test_an_empty_window_falls_back_to_the_newest_days_with_papers_and_says_so(catalog):
    later = NOW + timedelta(days=60)  # 20 October: nothing submitted for two months
    with TestClient(build_app(settings_for(catalog), catalog, clock=lambda: later)) as client:
        page = client.get("/trending").text
    assert kicker(page) == "15–21 Aug 2025"
    notice = re.search(r'data-testid="trending-fallback">([^<]*)<', page)[1]
    assert notice == ("Nothing was submitted in the last 7 days (14–20 Oct 2025). "
                      "These are the newest 7 days with papers: 15–21 Aug 2025.")
    assert "submitted 15–21 Aug 2025" in page


def test_three_votes_do_not_blow_three_papers_up_to_full_width(client):
    voter = Visitor(client)
    voter.sign_up("voter")
    for arxiv_id in ("2508.00004", "2508.00005", "2508.00006"):  # 40, 8 and 0 upvotes before
        assert voter.vote(arxiv_id).json()["voted"] is True
    page = client.get("/trending").text
    assert "No votes in the last" not in page and "upvotes gained 15–21 Aug 2025" in page
    bars = bar_list(page)
    assert [(label, note) for label, _, _, note in bars] == [
        ("Reinforcement learning from feedback", "+1 · 41"),
        ("Tiny language models that reason", "+1 · 9"),
        ("Retrieval augmented attention", "+1 · 1"),
    ]
    widths, parts = [width for _, width, _, _ in bars], [part for _, _, part, _ in bars]
    assert widths[0] == 1000 and round(widths[1], 1) == round(1000 * 9 / 41, 1) and round(widths[2], 1) == round(1000 / 41, 1)
    assert all(round(part, 1) == round(1000 / 41, 1) for part in parts)  # one vote is one vote wide, on every bar


def test_the_chart_text_is_page_text(client):
    page = client.get("/trending").text
    chart = re.search(r'<ol class="bar-list".*?</ol>', page, re.S)[0]
    assert "<text" not in chart  # SVG text shrinks with its drawing on a phone; page text does not
