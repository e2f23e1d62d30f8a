"""Screenshots of the main pages for the README: ``python -m tests.web.browser.screenshots [DIR] [NAME...]``.

Serves the demo site exactly as the browser tests do (a few hundred demo papers, Debian's
chromium), leaves a vote and a comment so the paper page shows them, makes an API token so the account
page lists one, and writes PNGs to
``docs/screenshots`` (or DIR). For the reader's own pages it also imports the demo vectors,
renders thumbnails of the newest papers (from paper-like PDFs served locally, through the real
``fetch_thumbnails``), and gives the reader upvotes, follows and two collections.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.web.browser.harness import REPO, launch_chromium, serve_demo
from tests.web.browser.reader_scene import READER_SHOTS, set_the_scene

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


def main(out: Path, only_reader: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory, serve_demo(Path(directory)) as site, sync_playwright() as p:
        browser = launch_chromium(p)
        context = browser.new_context(base_url=site.base_url, **DESKTOP)
        page = context.new_page()
        page.goto("/signup")
        page.fill("#username", "ada")
        page.fill("#password", "correct horse battery staple")
        page.locator("main form button[type=submit]").click()
        expect(page.get_by_test_id("current-user")).to_have_text("ada")
        page.goto("/?sort=upvotes")
        paper = page.get_by_test_id("paper-card").first.get_attribute("data-arxiv-id")
        page.goto(f"/papers/{paper}")
        page.get_by_test_id(f"vote-{paper}").click()
        expect(page.get_by_test_id(f"vote-{paper}")).to_have_attribute("aria-pressed", "true")
        page.fill("#comment-body", "The ablation in section 4 is **really** convincing. Has anyone tried it at 7B?")
        page.locator("#comments form.new-comment button[type=submit]").click()
        expect(page.get_by_test_id("comment").first).to_be_visible()
        if not only_reader:
            page.goto("/account")
            page.fill("#token_name", "nightly reading list")
            page.select_option("#token_scope", "write")
            page.get_by_test_id("token-form").locator("button[type=submit]").click()
            expect(page.get_by_test_id("new-token")).to_be_visible()
            page.screenshot(path=str(out / "token-created.png"), full_page=True)
            page.goto("/account")
            page.screenshot(path=str(out / "account.png"), full_page=True)
            phone = browser.new_context(base_url=site.base_url, storage_state=context.storage_state(), **PHONE)
            phone.new_page().goto("/account")
            phone.pages[0].screenshot(path=str(out / "account-phone.png"), full_page=True)
            phone.close()
        signed_in = context.storage_state()
        context.close()
        scene = set_the_scene(site, "ada")

        shots = [
            ("daily.png", "/", DESKTOP, "light", False),
            ("daily-week-dark.png", "/?week=2026-W34", DESKTOP, "dark", False),
            ("paper.png", f"/papers/{paper}", DESKTOP, "light", True),
            ("trending.png", "/trending", DESKTOP, "light", False),
            ("search.png", "/search?q=video+generation", DESKTOP, "light", False),
            ("daily-phone.png", "/", PHONE, "light", False),
            ("paper-phone.png", f"/papers/{paper}", PHONE, "light", False),
        ]
        shots = [(name, path, device, "light", False) for name, path, device in (
            ("daily.png", "/", DESKTOP), ("daily-phone.png", "/", PHONE))] if only_reader else shots
        shots += [(name, path.format(**scene), device, scheme, full, True) for name, path, device, scheme, full in READER_SHOTS]
        for name, path, device, scheme, full, *reader in shots:
            if only_reader and not reader:
                name = name.replace(".png", "-thumbnails.png")
            context = browser.new_context(base_url=site.base_url, color_scheme=scheme,
                                          storage_state=signed_in if reader else None, **device)
            page = context.new_page()
            page.goto(path)
            page.screenshot(path=str(out / name), full_page=full)
            context.close()
            print(out / name)
        browser.close()


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--reader"]
    main(Path(arguments[0]) if arguments else REPO / "docs" / "screenshots", only_reader="--reader" in sys.argv)
