"""Screenshots of the discussion, account and moderation pages for docs/web.md:
``python -m tests.web.browser.community_screenshots [DIR]``.

Serves the demo site as the browser tests do, with its mail going to an aiosmtpd on loopback,
acts out a small discussion (a reply, an edit, a deletion, a moderator's removal) and writes
PNGs to ``docs/screenshots`` (or DIR).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller
from playwright.sync_api import expect, sync_playwright

from papertide.catalog import names
from papertide.community import accounts, comments, moderation
from papertide.digest import subscriptions
from tests.digest.conftest import RecordingHandler, free_port
from tests.web.browser.harness import REPO, launch_chromium, serve_demo

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
PASSWORD = "correct horse battery staple"


def discussion(site, arxiv_id: str) -> None:
    """A thread worth looking at, written through the services (as the site's own code would)."""
    with site.database.session() as session:
        ada = accounts.sign_up(session, "ada", PASSWORD, "ada@example.org")
        grace = accounts.sign_up(session, "grace", PASSWORD)
        lin = accounts.sign_up(session, "lin", PASSWORD)
        spam = accounts.sign_up(session, "cheapwatches", PASSWORD)
        mod = accounts.sign_up(session, "alice", PASSWORD, is_admin=True)
        first = comments.add_comment(session, ada.id, arxiv_id, "Does the method need labelled data, or is the pretraining fully self-supervised?")
        comments.add_comment(session, grace.id, arxiv_id, "Section 3.2: self-supervised, labels only for the linear probe.", first.id)
        comments.add_comment(session, ada.id, arxiv_id, "Thanks, I missed that.", first.id)
        gone = comments.add_comment(session, lin.id, arxiv_id, "(a question lin thought better of)")
        comments.add_comment(session, grace.id, arxiv_id, "The ablation in table 4 answers most of it anyway.", gone.id)
        comments.delete_comment(session, lin.id, gone.id)
        junk = comments.add_comment(session, spam.id, arxiv_id, "Best replica watches, cheap!!! visit my site")
        moderation.hide_comment(session, mod.id, junk.id, "spam")


def log_in(browser, site, device, username: str, **context):
    ctx = browser.new_context(base_url=site.base_url, **device, **context)
    page = ctx.new_page()
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)
    return ctx, page


def shoot(page, out: Path, name: str, **kwargs) -> None:
    page.screenshot(path=str(out / name), **kwargs)
    print(out / name)


def shoot_part(page, locator, out: Path, name: str, margin: int = 12) -> None:
    """One part of the page, cut from a full-page shot: an element shot would scroll it under the
    sticky top bar."""
    page.evaluate("scrollTo(0, 0)")  # the sticky bar then sits at the top of the document, out of the cut
    box = locator.evaluate("e => { const r = e.getBoundingClientRect();"
                           " return {x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}; }")
    clip = {"x": max(0, box["x"] - margin), "y": max(0, box["y"] - margin),
            "width": box["width"] + 2 * margin, "height": box["height"] + 2 * margin}
    shoot(page, out, name, full_page=True, clip=clip)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    handler, port = RecordingHandler(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    mail = {"PAPERTIDE_SMTP_HOST": "127.0.0.1", "PAPERTIDE_SMTP_PORT": str(port)}
    try:
        with tempfile.TemporaryDirectory() as directory, serve_demo(Path(directory), extra_env=mail) as site, \
                sync_playwright() as p:
            browser = launch_chromium(p)
            first = browser.new_page(base_url=site.base_url)
            first.goto("/?sort=upvotes")
            arxiv_id = first.get_by_test_id("paper-card").first.get_attribute("data-arxiv-id")
            first.close()
            discussion(site, arxiv_id)
            thread_shots(browser, site, arxiv_id, out)
            account_shots(browser, site, handler, out)
            browser.close()
    finally:
        controller.stop()


def thread_shots(browser, site, arxiv_id: str, out: Path) -> None:
    # The thread as its first author sees it, with a reply box open, on desktop and phone.
    for device, name in ((DESKTOP, "comments-thread.png"), (PHONE, "comments-thread-phone.png")):
        ctx, page = log_in(browser, site, device, "ada")
        page.goto(f"/papers/{arxiv_id}#comments")
        page.locator("li.reply").filter(has_text="Section 3.2").get_by_test_id("reply-toggle").click()
        shoot_part(page, page.locator("#comments"), out, name)
        if device is DESKTOP:  # editing in place, then the question before deleting
            own = page.locator("li.reply").filter(has_text="Thanks, I missed")
            own.get_by_test_id("edit-comment").click()
            page.locator(".edit-form textarea").fill("Thanks, I missed that. **Table 4** settles it.")
            shoot_part(page, page.locator("#comments"), out, "comment-edit.png")
            page.locator(".edit-form button[type=submit]").click()
            own = page.locator("li.reply").filter(has_text="settles it")
            expect(own.get_by_test_id("edited")).to_be_visible()
            own.get_by_test_id("delete-comment").click()
            expect(page.locator("dialog#dialog")).to_be_visible()
            shoot(page, out, "comment-delete-dialog.png")
        ctx.close()

    # A moderator's view in dark mode: removed text kept for review, beside a Restore button.
    ctx, page = log_in(browser, site, DESKTOP, "alice", color_scheme="dark")
    page.goto(f"/papers/{arxiv_id}#comments")
    shoot_part(page, page.locator("#comments"), out, "comments-moderator-dark.png")
    ctx.close()

    # A moderator removes a comment: the dialog asks for the reason.
    ctx, page = log_in(browser, site, DESKTOP, "alice")
    page.goto(f"/papers/{arxiv_id}#comments")
    page.locator("li.reply").filter(has_text="Section 3.2").get_by_test_id("remove-comment").click()
    page.locator("dialog #reason").fill("off topic")
    shoot(page, out, "moderation-dialog.png")
    page.locator("dialog a[data-close-dialog]").click()
    page.goto("/admin")
    page.get_by_test_id("block-cheapwatches").click()
    page.locator("dialog #reason").fill("spam account")
    page.get_by_test_id("confirm-button").click()
    expect(page.get_by_test_id("flash")).to_be_visible()
    shoot_part(page, page.locator("section.panel").filter(has=page.get_by_test_id("audit")), out, "audit-trail.png")
    ctx.close()


def account_shots(browser, site, handler, out: Path) -> None:
    ctx = browser.new_context(base_url=site.base_url, **DESKTOP)
    page = ctx.new_page()
    # A taken name: the form comes back filled in, but for the password.
    page.goto("/signup")
    page.fill("#username", "Ada")
    page.fill("#email", "ada.lovelace@example.org")
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("form-error")).to_be_visible()
    shoot(page, out, "signup-taken.png")
    # A forgotten password, asked for from the log-in form, the link read from the mail.
    page.goto("/login")
    page.fill("#username", "ada")
    page.fill("#password", "what was it again")
    page.locator("main form button[type=submit]").click()
    shoot(page, out, "login-wrong-password.png")
    page.get_by_test_id("forgot-link").click()
    shoot(page, out, "password-forgot.png")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("notice")).to_be_visible()
    sent = handler.wait_for(1)[0].message.get_body(("plain",)).get_content()
    link = urlsplit(re.search(r"http://\S+/password/reset\?token=\S+", sent).group(0))
    page.goto(f"{link.path}?{link.query}")
    shoot(page, out, "password-reset.png")
    ctx.close()
    # The digest's settings: what ada follows as chips; an account without an address asked for
    # one, and an organisation the catalog does not have refused.
    with site.database.session() as session:
        organizations = [slug.lower() for slug, _, _ in names.suggest_organizations(session, "", 2)]
        authors = [name for name, _ in names.suggest_authors(session, "wang", 2)]
        ada = accounts.get_user_by_name(session, "ada")
    subscriptions.request_subscription(site.database, "ada@example.org", subscriptions.Preferences(
        content="both", topics=["video generation"], organizations=organizations, authors=authors), user_id=ada.id)
    ctx, page = log_in(browser, site, DESKTOP, "ada")
    page.goto("/settings/digest")
    shoot_part(page, page.locator("section.digest-form"), out, "digest-settings.png")
    ctx.close()
    ctx, page = log_in(browser, site, DESKTOP, "grace")
    page.goto("/settings/digest")
    page.get_by_label("Papers matching my interests").check()
    page.fill("#email", "grace@example.org")
    page.fill("#organizations", "Nowhere Labs")
    page.locator("main form button[type=submit]").first.click()
    expect(page.locator(".alert.error")).to_be_visible()
    shoot_part(page, page.locator("section.digest-form"), out, "digest-settings-refused.png")
    ctx.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots")
