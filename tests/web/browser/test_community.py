"""What a daily reader does with their account and the discussion, in Debian's chromium at desktop
and phone size: a refused sign-up keeps its fields, a forgotten password is reset through a real
SMTP server (the mail read, its link followed), and a comment is answered, edited and deleted."""

from __future__ import annotations

import itertools
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from papertide.community import accounts
from tests.web.browser.test_site import PASSWORD, mark_document, assert_not_reloaded, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_names = itertools.count()


def unique(prefix: str, viewport: str) -> str:
    return f"{prefix}_{viewport}_{next(_names)}"


def mail_to(mail_server, address: str, timeout: float = 15.0):
    """The first message to ``address`` the site sent, waiting for it to arrive."""
    handler = mail_server.handler
    with handler.arrived:
        handler.arrived.wait_for(lambda: any(address in m.recipients for m in handler.received), timeout)
        found = [m for m in handler.received if address in m.recipients]
    assert found, f"no mail reached {address} within {timeout:.0f} s"
    return found[0].message


def unexpected(errors: list[str], *statuses: int) -> list[str]:
    """Console errors, less chromium's note on each refused form's page answered with ``statuses``
    (a 409 for a taken name is the right answer; a CSP violation or a script error is not)."""
    notes = {f"the server responded with a status of {status}" for status in statuses}
    return [error for error in errors if not any(note in error for note in notes)]


def test_sign_up_with_a_taken_name_keeps_the_fields(page, site, viewport):
    taken = unique("taken", viewport)
    with site.database.session() as session:
        accounts.sign_up(session, taken, PASSWORD)
    page.goto("/signup")
    page.fill("#username", taken.upper())
    page.fill("#email", f"{taken}@example.org")
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("is taken")
    expect(page.locator("#username")).to_have_value(taken.upper())
    expect(page.locator("#email")).to_have_value(f"{taken}@example.org")
    expect(page.locator("#password")).to_have_value("")  # never sent back

    free = unique("free", viewport)
    page.fill("#username", free)  # only the name changes; the address is still there
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_have_text(free)
    assert unexpected(page.console_errors, 409) == []


def test_reset_a_forgotten_password_through_a_real_mail_server(page, site, viewport, mail_server):
    username = unique("forgetful", viewport)
    address = f"{username}@example.org"
    with site.database.session() as session:
        accounts.sign_up(session, username, PASSWORD, address)

    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", "what was it again")
    page.locator("main form button[type=submit]").click()
    page.get_by_test_id("forgot-link").click()
    expect(page.locator("#identifier")).to_have_value(username)  # carried over from the log-in form
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("notice")).to_contain_text("a link to choose a new password is on its way")

    message = mail_to(mail_server, address)
    assert message["Subject"] == "Choose a new papertide password"
    link = re.search(r"http://\S+/password/reset\?token=\S+", message.get_body(("plain",)).get_content()).group(0)
    assert link.startswith(site.base_url)
    page.goto(urlsplit(link).path + "?" + urlsplit(link).query)
    expect(page.get_by_test_id("reset-username")).to_have_text(username)
    page.fill("#new_password", "a fresh and long passphrase")
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/login\?username="))
    expect(page.get_by_test_id("flash")).to_contain_text("Your password is changed")
    expect(page.locator("#username")).to_have_value(username)
    page.fill("#password", "a fresh and long passphrase")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)

    page.goto(urlsplit(link).path + "?" + urlsplit(link).query)  # the link worked once
    expect(page.get_by_test_id("notice")).to_contain_text("expired or was already used")
    assert unexpected(page.console_errors, 401, 400) == []


def test_reply_edit_and_delete_a_comment(page, site, viewport):
    author = sign_up(page, viewport)
    arxiv_id = page.get_by_test_id("paper-card").nth(2).get_attribute("data-arxiv-id")
    page.goto(f"/papers/{arxiv_id}")
    mark_document(page)

    page.fill("#comment-body", f"Does the method need labelled data? ({author})")
    page.locator("#comments form.new-comment button[type=submit]").click()
    top = page.get_by_test_id("comment").filter(has_text=f"({author})").first
    expect(top).to_be_visible()
    top_id = top.get_attribute("id")

    # Reply: the box opens under the comment, the reply joins its thread, the box folds up.
    top.get_by_test_id("reply-toggle").first.click()
    reply_box = page.locator(f"#{top_id} > .comment-main > .comment-actions textarea")
    reply_box.fill("Answering myself: no, it is self-supervised.")
    reply_box.press("Tab")
    page.locator(f"#{top_id} > .comment-main > .comment-actions form button[type=submit]").click()
    reply = page.locator(f"#replies-{top_id.removeprefix('comment-')} > li").filter(has_text="self-supervised")
    expect(reply).to_be_visible()
    expect(page.locator(f"#{top_id} > .comment-main > .comment-actions details")).not_to_have_attribute("open", "")

    # Edit: the text becomes a form in place; saved, it says "edited".
    page.locator(f"#{top_id} > .comment-main > .comment-actions").get_by_test_id("edit-comment").click()
    editor = page.locator(f"#{top_id} .edit-form textarea")
    expect(editor).to_be_focused()
    editor.fill(f"Does the method need **labelled** data? ({author})")
    page.locator(f"#{top_id} .edit-form button[type=submit]").click()
    top = page.locator(f"#{top_id}")
    expect(top.locator("> .comment-main > .text strong")).to_have_text("labelled")
    expect(top.locator("> .comment-main [data-testid=edited]")).to_be_visible()

    # Delete: the dialog asks; the comment leaves a "deleted" mark while its reply is there.
    top.locator("> .comment-main > .comment-actions").get_by_test_id("delete-comment").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".quoted")).to_contain_text("labelled")
    dialog.get_by_test_id("confirm-button").click()
    expect(dialog).to_be_hidden()
    expect(top).to_have_attribute("data-state", "deleted")
    expect(top.get_by_test_id("comment-placeholder")).to_have_text("deleted")
    expect(reply).to_be_visible()

    # Deleting the reply too takes the whole thread away.
    reply.get_by_test_id("delete-comment").click()
    dialog.get_by_test_id("confirm-button").click()
    expect(page.locator(f"#{top_id}")).to_have_count(0)
    assert_not_reloaded(page)
    page.reload()
    expect(page.locator(f"#{top_id}")).to_have_count(0)
    assert page.console_errors == []
