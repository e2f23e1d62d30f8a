"""What a daily reader runs into (issue 17), in Debian's chromium on the test backend: the phone
layout, paging both ways, the period pickers, search history, the searched author, the trending
chart on a phone, the ways to the organisations and back from /docs, and an upvote without
JavaScript. The fixtures' ``page`` runs each test at desktop and at phone size."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from papertide.catalog.models import Paper
from tests.web.browser.harness import enter_account
from tests.web.browser.test_site import sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SPACE = r"(\+|%20)"  # a space in a query string, as a form or htmx writes it
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}


@pytest.fixture
def phone(chromium, site):
    context = chromium.new_context(base_url=site.base_url, **PHONE)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("path", ["/", "/?week=2026-W34", "/?month=2026-08&sort=upvotes", "/orgs/Tencent"])
def test_on_a_phone_the_first_paper_is_above_the_fold(phone, path, tmp_path):
    phone.goto(path)
    shot = tmp_path / "phone.png"
    phone.screenshot(path=str(shot))  # what a reader sees first; kept with the test's files on failure
    assert shot.stat().st_size > 0
    header = phone.locator("header.topbar").bounding_box()
    assert header["height"] <= 60, f"the header takes {header['height']} px"
    card = phone.get_by_test_id("paper-card").first.bounding_box()
    assert card["y"] >= header["height"] and card["y"] + card["height"] <= 844, f"first paper at {card}"
    # The header scrolls away with the page instead of covering it.
    phone.evaluate("window.scrollTo(0, 200)")
    expect(phone.locator("header.topbar")).not_to_be_in_viewport(ratio=1)


def test_on_a_phone_search_shows_its_button(phone):
    phone.goto("/search")
    button = phone.locator("main").get_by_role("button", name="Search")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["x"] + box["width"] <= 390
    phone.fill("#q", "diffusion")
    button.click()
    expect(phone.get_by_test_id("result-count")).to_contain_text("diffusion")


def test_on_a_phone_the_trending_chart_is_readable(phone):
    phone.goto("/trending")
    label = phone.locator(".bar-list .bar-label").first
    expect(label).to_be_visible()
    size = label.evaluate("element => parseFloat(getComputedStyle(element).fontSize)")
    assert size >= 12, f"chart labels are {size} px"
    expect(phone.get_by_test_id("trending-window")).to_have_text(re.compile(r"\d{1,2}–\d{1,2} \w{3} \d{4}"))


def test_page_back_and_forth(page):
    page.goto("/?month=2026-08&sort=upvotes")
    note = page.get_by_test_id("count-note")
    expect(note).to_have_text(re.compile(r"^Papers 1–100 of \d+$"))
    first_card = page.get_by_test_id("paper-card").first.get_attribute("data-arxiv-id")
    page.get_by_test_id("next-page").click()
    expect(page).to_have_url(re.compile(r"p=1$"))
    expect(note).to_have_text(re.compile(r"^Papers 101–200 of \d+$"))
    page.get_by_test_id("next-page").click()
    expect(note).to_have_text(re.compile(r"^Papers 201–\d+ of \d+$"))
    expect(page.get_by_test_id("next-page")).to_have_count(0)
    page.get_by_test_id("prev-page").click()
    expect(note).to_have_text(re.compile(r"^Papers 101–200 of \d+$"))
    page.get_by_test_id("prev-page").click()
    expect(note).to_have_text(re.compile(r"^Papers 1–100 of \d+$"))
    assert page.get_by_test_id("paper-card").first.get_attribute("data-arxiv-id") == first_card
    expect(page.get_by_test_id("prev-page")).to_have_count(0)


def test_weeks_read_as_dates_and_are_picked_from_a_list(page):
    page.goto("/?week=2026-W34")
    heading = page.get_by_test_id("feed-heading")
    expect(heading).to_have_text("17–23 Aug 2026")
    page.get_by_test_id("period-picker").select_option(label="10–16 Aug 2026")  # submits itself
    expect(page).to_have_url(re.compile(r"\?week=2026-W33$"))
    expect(heading).to_have_text("10–16 Aug 2026")
    page.get_by_role("link", name="Month", exact=True).click()
    expect(page.get_by_test_id("period-picker")).to_have_value("2026-08")
    assert not page.console_errors, page.console_errors


def test_typing_a_search_adds_one_history_entry(page):
    page.goto("/search")
    before = page.evaluate("history.length")
    box = page.locator("#q")
    for words in ("video", "video generation", "video generation with", "video generation with diffusion"):
        box.fill(words)  # one input event per word: each used to add an entry
        expect(page.get_by_test_id("result-count")).to_contain_text(f"“{words}”")
        expect(page).to_have_url(re.compile(r"q=" + words.replace(" ", SPACE) + "$"))  # the address follows
        assert page.evaluate("history.length") == before
    box.press("Tab")  # done with this query
    page.wait_for_function(f"history.length === {before + 1}")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/search$"))
    expect(page.locator("#q")).to_have_value("")
    page.go_forward()
    expect(page).to_have_url(re.compile(r"q=" + "video generation with diffusion".replace(" ", SPACE) + "$"))


def test_the_searched_author_shows_on_the_card(page, site):
    with site.database.session() as session:  # a paper whose fifth author wrote nothing else here
        papers = session.scalars(select(Paper).where(Paper.hidden.is_(False))).all()
    counts: dict[str, int] = {}
    for paper in papers:
        for name in paper.authors:
            counts[name] = counts.get(name, 0) + 1
    paper, name = next((p, p.authors[4]) for p in sorted(papers, key=lambda p: p.arxiv_id)
                       if len(p.authors) > 6 and counts[p.authors[4]] == 1 and p.authors[4].isascii())
    page.goto("/search")
    page.fill("#q", name)
    card = page.locator(f'[data-testid="paper-card"][data-arxiv-id="{paper.arxiv_id}"]')
    expect(card.locator("mark")).to_have_text(name)
    expect(card.get_by_test_id("authors")).to_contain_text("+")


def test_the_organisations_are_reached_from_every_page(page):
    page.goto("/trending")
    page.locator("header").get_by_role("link", name="Organisations").click()
    expect(page).to_have_url(re.compile(r"/orgs$"))
    page.get_by_test_id("org-directory").get_by_role("link").first.click()
    expect(page.get_by_test_id("org-name")).to_be_visible()
    rss = page.get_by_test_id("feed-links").get_by_role("link", name="RSS")
    expect(rss).to_have_attribute("href", re.compile(r"^/feeds/organizations/.+\.rss$"))
    page.locator("footer").get_by_role("link", name="Organisations").click()
    expect(page).to_have_url(re.compile(r"/orgs$"))


def test_the_api_reference_lists_the_api_and_leads_back(page):
    page.goto("/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    markdown = "/papers/{arxiv_id}.md"  # Hugging Face's read_paper asks for it there
    assert paths and all(path.startswith(("/api/", "/feeds/")) or path == markdown for path in paths), paths
    page.get_by_test_id("back-to-site").click()
    expect(page.get_by_test_id("feed-heading")).to_be_visible()


def test_an_upvote_without_javascript_comes_back_to_the_list(chromium, site):
    context = chromium.new_context(base_url=site.base_url, java_script_enabled=False)
    try:
        page = context.new_page()
        enter_account(page, "/signup", "nojs_reader")  # a plain form: no script needed
        page.goto("/?month=2026-08&sort=newest&p=1")
        arxiv_id = page.get_by_test_id("paper-card").nth(3).get_attribute("data-arxiv-id")
        before = int(page.get_by_test_id(f"votes-{arxiv_id}").get_attribute("data-count"))
        page.get_by_test_id(f"vote-{arxiv_id}").click()
        expect(page).to_have_url(re.compile(rf"/\?month=2026-08&sort=newest&p=1#paper-{re.escape(arxiv_id)}$"))
        expect(page.get_by_test_id(f"votes-{arxiv_id}")).to_have_attribute("data-count", str(before + 1))
    finally:
        context.close()


def test_signed_in_on_a_phone_the_header_keeps_to_one_row(phone):
    sign_up(phone, "phone")
    header = phone.locator("header.topbar").bounding_box()
    assert header["height"] <= 60
    expect(phone.get_by_role("button", name="Log out")).to_be_visible()
    overflow = phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
