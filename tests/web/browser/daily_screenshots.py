"""Screenshots of the daily reader's pages (issue 17) of the site's pages for docs/web.md and the README: ``python -m tests.web.browser.screenshots [DIR]``.

Serves the demo site exactly as the browser tests do (a few hundred demo papers, Debian's
chromium), has three readers vote and one comment so the trending chart and the paper page show
them, and writes PNGs, at desktop size and at the size of a 390x844 phone, to
``docs/screenshots`` (or DIR).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.web.browser.harness import REPO, enter_account, launch_chromium, serve_demo

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def sign_up(browser, base_url: str, username: str):
    context = browser.new_context(base_url=base_url, **DESKTOP)
    page = context.new_page()
    enter_account(page, "/signup", username)
    return context, page


def vote(page, arxiv_id: str) -> None:
    page.goto(f"/papers/{arxiv_id}")
    page.get_by_test_id(f"vote-{arxiv_id}").click()
    expect(page.get_by_test_id(f"vote-{arxiv_id}")).to_have_attribute("aria-pressed", "true")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory, serve_demo(Path(directory)) as site, sync_playwright() as p:
        browser = launch_chromium(p)
        context, page = sign_up(browser, site.base_url, "ada")
        page.goto("/?sort=upvotes")
        papers = page.get_by_test_id("paper-card").evaluate_all("cards => cards.map(c => c.dataset.arxivId)")
        paper = papers[0]
        vote(page, paper)
        page.fill("#comment-body", "The ablation in section 4 is **really** convincing. Has anyone tried it at 7B?")
        page.locator("#comments form button[type=submit]").click()
        expect(page.get_by_test_id("comment").first).to_be_visible()
        vote(page, papers[5])
        context.close()
        for name, picks in (("grace", (papers[5], papers[9])), ("alan", (papers[9], papers[12]))):
            context, page = sign_up(browser, site.base_url, name)
            for arxiv_id in picks:
                vote(page, arxiv_id)
            context.close()

        pages = [  # name, path, a full-page shot at desktop size
            ("daily", "/", False),
            ("daily-week", "/?week=2026-W34&sort=upvotes&p=1", False),
            ("trending", "/trending", False),
            ("search", "/search?q=Maja+Pantic", False),
            ("paper", f"/papers/{paper}", True),
            ("orgs", "/orgs", False),
            ("org", "/orgs/Tencent", False),
            ("docs", "/docs", False),
        ]
        for name, path, full in pages:
            for suffix, device in (("", DESKTOP), ("-phone", PHONE)):
                context = browser.new_context(base_url=site.base_url, **device)
                page = context.new_page()
                page.goto(path)
                if name == "docs":
                    expect(page.locator(".opblock").first).to_be_visible()
                page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=full and not suffix)
                context.close()
                print(out / f"{name}{suffix}.png")
        context = browser.new_context(base_url=site.base_url, color_scheme="dark", **DESKTOP)
        page = context.new_page()
        page.goto("/?week=2026-W34")
        page.screenshot(path=str(out / "daily-week-dark.png"))
        context.close()
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots")
