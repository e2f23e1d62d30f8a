"""The reader's own, in Debian's chromium at desktop and phone size: following an author changes
"For you"; a collection built from cards, shared by link, private to others until then, and
exported as BibTeX and RIS that bibtexparser and rispy read back; paper pages' citation tags as
Zotero's connector reads them."""

from __future__ import annotations

import re

import bibtexparser
import pytest
import rispy
from playwright.sync_api import expect

from tests.web.browser.test_site import PASSWORD, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Zotero's "Embedded Metadata" translator reads every <meta> by its name (or property),
# lower-cased, keeping each value of a repeated tag in order.
ZOTERO_READS_META = """() => {
  const tags = {};
  for (const meta of document.getElementsByTagName("meta")) {
    const key = (meta.getAttribute("name") || meta.getAttribute("property") || "").toLowerCase();
    if (key) (tags[key] = tags[key] || []).push(meta.getAttribute("content"));
  }
  return tags;
}"""


def card(page, arxiv_id: str):
    return page.locator(f'[data-testid="paper-card"][data-arxiv-id="{arxiv_id}"]')


def test_following_an_author_changes_for_you(page, site, viewport):
    sign_up(page, viewport)
    page.goto("/for-you")
    expect(page.get_by_test_id("signals")).to_have_text("0 of 3")

    # Three upvotes: enough signals, but the demo site holds no vectors, so nothing is close yet.
    page.goto("/?sort=upvotes")
    ids = [c.get_attribute("data-arxiv-id") for c in page.get_by_test_id("paper-card").all()[:4]]
    for arxiv_id in ids[:3]:
        page.get_by_test_id(f"vote-{arxiv_id}").click()
        expect(page.get_by_test_id(f"vote-{arxiv_id}")).to_have_attribute("aria-pressed", "true")
    page.goto("/for-you")
    expect(page.get_by_test_id("empty")).to_contain_text("Nothing new close to your interests")

    # Follow an author of a paper of the day, from the author's page reached from the card.
    page.goto("/?sort=upvotes")
    target = card(page, ids[3])
    author_link = target.locator(".author-links a").first
    author = author_link.inner_text()
    author_link.click()
    expect(page.get_by_test_id("author-name")).to_have_text(author)
    page.get_by_test_id("follow").click()
    expect(page.get_by_test_id("follow")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.get_by_test_id("follow")).to_contain_text("Following")

    page.get_by_test_id("nav-for-you").click()
    picked = card(page, ids[3])
    expect(picked).to_be_visible()
    expect(picked.get_by_test_id("why")).to_contain_text(f"By an author you follow: {author}")
    for arxiv_id in ids[:3]:  # what the reader upvoted is not offered again
        expect(card(page, arxiv_id)).to_have_count(0)
    for path in ("/for-you", page.url.replace(site.base_url, "") if "/authors/" in page.url else "/collections",
                 f"/authors/{author}"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {viewport} size: {wide}"
    assert not page.console_errors, page.console_errors


def test_a_collection_built_from_cards_is_shared_by_link_and_exported(page, chromium, site, viewport, tmp_path):
    sign_up(page, viewport)
    name = f"Reading group {viewport}"
    page.goto("/?sort=upvotes")
    first, second = (c.get_attribute("data-arxiv-id") for c in page.get_by_test_id("paper-card").all()[:2])

    # Save the first paper into a new collection, from its card's menu (loaded on opening).
    card(page, first).get_by_test_id(f"save-{first}").locator("summary").click()
    menu = card(page, first).get_by_test_id("collect-menu")
    menu.get_by_placeholder("New collection…").fill(name)
    menu.get_by_role("button", name="Add").click()
    expect(card(page, first).get_by_test_id(f"collect-{name}")).to_have_attribute("aria-pressed", "true")
    # The second, into the same collection.
    card(page, second).get_by_test_id(f"save-{second}").locator("summary").click()
    card(page, second).get_by_test_id(f"collect-{name}").click()
    expect(card(page, second).get_by_test_id(f"collect-{name}")).to_have_attribute("aria-pressed", "true")

    page.goto("/collections")
    page.get_by_role("link", name=name).first.click()
    expect(page.get_by_test_id("collection-name")).to_have_text(name)
    expect(page.get_by_test_id("paper-card")).to_have_count(2)
    address = page.url

    # Private: another reader, signed out or signed in, is told there is nothing there.
    stranger = chromium.new_context(base_url=site.base_url)
    stranger_page = stranger.new_page()
    assert stranger_page.goto(address).status == 404
    other = stranger_page
    other.goto("/signup")
    other.fill("#username", f"other_{viewport}_{first.replace('.', '')}")
    other.fill("#password", PASSWORD)
    other.locator("main form button[type=submit]").click()
    expect(other.get_by_test_id("current-user")).to_be_visible()
    assert other.goto(address).status == 404

    # Shared by link: the address itself now opens it, for anyone.
    page.get_by_test_id("toggle-share").click()
    expect(page.get_by_test_id("share-url")).to_have_value(address)
    anonymous = chromium.new_context(base_url=site.base_url).new_page()
    assert anonymous.goto(address).status == 200
    expect(anonymous.get_by_test_id("collection-name")).to_have_text(name)
    expect(anonymous.get_by_test_id("paper-card")).to_have_count(2)
    anonymous.context.close()
    stranger.close()

    # Exports, downloaded as a reader would, read back by the libraries reference tools use.
    with page.expect_download() as bib_download:
        page.get_by_test_id("export-bib").click()
    library = bibtexparser.parse_file(bib_download.value.path())
    assert not library.failed_blocks
    assert sorted(e.fields_dict["eprint"].value for e in library.entries) == sorted([first, second])
    with page.expect_download() as ris_download:
        page.get_by_test_id("export-ris").click()
    with open(ris_download.value.path(), encoding="utf-8") as exported:
        records = rispy.load(exported)
    assert sorted(r["accession_number"] for r in records) == sorted([f"arXiv:{first}", f"arXiv:{second}"])
    assert all(r["type_of_reference"] == "UNPB" and r["authors"] for r in records)
    assert not page.console_errors, page.console_errors


def test_citation_tags_read_as_zoteros_connector_reads_them(page, site):
    page.goto("/?sort=upvotes")
    arxiv_id = page.get_by_test_id("paper-card").first.get_attribute("data-arxiv-id")
    page.goto(f"/papers/{arxiv_id}")
    tags = page.evaluate(ZOTERO_READS_META)
    title = page.get_by_test_id("paper-title").inner_text()
    shown_authors = page.locator(".paper-head .authors a").all_inner_texts()
    assert tags["citation_title"] == [title] == tags["og:title"]
    assert tags["citation_author"][:len(shown_authors)] == shown_authors
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}", tags["citation_date"][0])
    assert tags["citation_pdf_url"] == [f"https://arxiv.org/pdf/{arxiv_id}"]
    assert tags["citation_arxiv_id"] == [arxiv_id]
    assert tags["citation_abstract_html_url"] == [f"{site.base_url}/papers/{arxiv_id}"]
    assert tags["twitter:card"] and tags["og:description"][0]
