"""The site as a person uses it, in Debian's chromium: sign up, submit, upvote, comment, search,
move between days; every test runs at desktop and at phone size, under the site's real CSP."""

from __future__ import annotations

import itertools
import re

import pytest
from playwright.sync_api import expect

from tests.web.browser.harness import PASSWORD, enter_account

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_names = itertools.count()


def sign_up(page, viewport: str) -> str:
    username = f"reader_{viewport}_{next(_names)}"
    enter_account(page, "/signup", username)
    return username


def mark_document(page) -> None:
    """Tag the current document, so a test can tell later whether the page was reloaded."""
    page.evaluate("window.__papertideMark = 'still here'")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__papertideMark") == "still here"


def test_sign_up_submit_upvote_and_comment(page, site, viewport):
    sign_up(page, viewport)
    arxiv_id = site.submittable[list(("desktop", "phone")).index(viewport)]

    # Submit a paper that is in the catalog but not on the daily list.
    page.goto("/submit")
    page.fill("#arxiv_id", f"https://arxiv.org/abs/{arxiv_id}")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/papers/{re.escape(arxiv_id)}$"))
    expect(page.get_by_test_id("flash")).to_contain_text("daily list")

    # Upvote: the count goes up by one in place, no reload; again: back down.
    count = page.get_by_test_id(f"votes-{arxiv_id}")
    before = int(count.get_attribute("data-count"))
    mark_document(page)
    page.get_by_test_id(f"vote-{arxiv_id}").click()
    expect(count).to_have_text(str(before + 1))
    expect(page.get_by_test_id(f"vote-{arxiv_id}")).to_have_attribute("aria-pressed", "true")
    assert_not_reloaded(page)

    # Comment: Markdown rendered, appended without a reload, the form cleared.
    page.fill("#comment-body", "Clear write-up, **great** ablations.")
    page.locator("#comments form.new-comment button[type=submit]").click()
    comment = page.get_by_test_id("comment").filter(has_text="Clear write-up")
    expect(comment).to_be_visible()
    expect(comment.locator("strong")).to_have_text("great")
    expect(page.locator("#comment-body")).to_have_value("")
    assert_not_reloaded(page)

    # Everything persisted: a reload shows the vote and the comment.
    page.reload()
    expect(page.get_by_test_id(f"votes-{arxiv_id}")).to_have_text(str(before + 1))
    expect(page.get_by_test_id("comment").filter(has_text="Clear write-up")).to_be_visible()

    # And the paper is on today's list, which is now the newest day.
    page.goto("/?sort=newest")
    expect(page.locator(f'[data-testid="paper-card"][data-arxiv-id="{arxiv_id}"]')).to_be_visible()
    assert not page.console_errors, page.console_errors


def test_upvote_on_the_daily_list_updates_in_place(page, site, viewport):
    sign_up(page, viewport)
    page.goto("/?sort=upvotes")
    card = page.get_by_test_id("paper-card").nth(1)
    arxiv_id = card.get_attribute("data-arxiv-id")
    count = page.get_by_test_id(f"votes-{arxiv_id}")
    before = int(count.get_attribute("data-count"))
    mark_document(page)
    page.get_by_test_id(f"vote-{arxiv_id}").click()
    expect(page.get_by_test_id(f"votes-{arxiv_id}")).to_have_attribute("data-count", str(before + 1))
    assert_not_reloaded(page)
    page.get_by_test_id(f"vote-{arxiv_id}").click()  # toggles back
    expect(page.get_by_test_id(f"votes-{arxiv_id}")).to_have_attribute("data-count", str(before))


def test_anonymous_upvote_asks_to_log_in(page, site):
    page.goto("/")
    card = page.get_by_test_id("paper-card").first
    arxiv_id = card.get_attribute("data-arxiv-id")
    page.get_by_test_id(f"vote-{arxiv_id}").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_search_as_you_type(page, site):
    page.goto("/search")
    mark_document(page)
    page.locator("#q").press_sequentially("agent", delay=30)
    expect(page.get_by_test_id("result-count")).to_contain_text("agent")
    expect(page).to_have_url(re.compile(r"q=agent"))
    assert_not_reloaded(page)
    first = page.get_by_test_id("paper-card").first
    title = first.locator("h3 a").inner_text()
    first.locator("h3 a").click()
    expect(page.get_by_test_id("paper-title")).to_have_text(title)


def test_search_from_the_top_bar_and_no_results(page, site, viewport):
    page.goto("/")
    if viewport == "phone":  # the phone's one-row top bar has a search icon, not a box
        page.locator("header").get_by_role("link", name="Search").click()
        expect(page.locator("#q")).to_be_focused()
        page.keyboard.type("zzqxj qqvbwx")
        page.press("#q", "Enter")
    else:
        page.keyboard.press("/")  # the shortcut focuses the search box
        expect(page.locator("#top-q")).to_be_focused()
        page.keyboard.type("zzqxj qqvbwx")  # no word of it is in any paper
        page.press("#top-q", "Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=zzqxj"))
    expect(page.get_by_test_id("empty")).to_contain_text("No papers match")


def test_move_between_days_weeks_and_sorts(page, site):
    page.goto("/")
    heading = page.get_by_test_id("feed-heading")
    today = heading.inner_text()
    page.get_by_test_id("prev").click()
    expect(page).to_have_url(re.compile(r"\?date=\d{4}-\d{2}-\d{2}"))
    expect(heading).not_to_have_text(today)
    earlier = heading.inner_text()
    page.get_by_test_id("prev").click()
    expect(heading).not_to_have_text(earlier)
    page.get_by_test_id("next").click()
    expect(heading).to_have_text(earlier)

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?week=\d{4}-W\d{2}"))
    expect(heading).to_have_text(re.compile(r"^\d{1,2}( \w{3})?( \d{4})? – \d{1,2} \w{3} \d{4}$|^\d{1,2}–\d{1,2} \w{3} \d{4}$"))
    page.get_by_role("link", name="Most upvoted").click()
    expect(page).to_have_url(re.compile(r"sort=upvotes"))
    counts = [int(c) for c in page.locator('[data-testid^="votes-"]').evaluate_all("els => els.map(e => e.dataset.count)")]
    assert counts == sorted(counts, reverse=True) and len(counts) > 1
    page.get_by_role("link", name="Month", exact=True).click()
    expect(page).to_have_url(re.compile(r"\?month=\d{4}-\d{2}"))


def test_main_pages_render_under_the_content_security_policy(page, site):
    paper = site.submittable[-1]
    for path in ("/", "/trending", f"/papers/{paper}", "/search?q=vision", "/login", "/signup", "/orgs"):
        response = page.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.locator("h1").first).to_be_visible()
    page.goto("/trending")
    expect(page.locator(".bar-list")).to_be_visible()
    assert not page.console_errors, page.console_errors  # a CSP violation is reported as a console error


def test_phone_layout_has_no_horizontal_scroll(page, site, viewport):
    for path in ("/", "/trending", "/search?q=model"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {viewport} size"


def test_log_out_then_back_in_with_a_wrong_password_first(page, site, viewport):
    username = sign_up(page, viewport)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_test_id("current-user")).to_have_count(0)

    page.get_by_role("link", name="Log in", exact=True).click()
    page.fill("#username", username)
    page.fill("#password", "not the password")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("Wrong username or password")
    expect(page.locator("#username")).to_have_value(username)  # kept: only the password is typed again
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#password")).to_be_focused()
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)


def test_changing_the_password_signs_out_the_other_device(page, chromium, site, viewport):
    username = sign_up(page, viewport)
    other_device = chromium.new_context(base_url=site.base_url)
    other = other_device.new_page()
    enter_account(other, "/login", username)

    page.get_by_test_id("current-user").click()
    expect(page.get_by_test_id("account-name")).to_have_text(username)
    page.fill("#current_password", PASSWORD)
    page.fill("#new_password", "a brand new passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Password changed")
    expect(page.get_by_test_id("current-user")).to_have_text(username)

    other.reload()
    expect(other.get_by_test_id("current-user")).to_have_count(0)
    other_device.close()
    assert page.console_errors == []


def test_moderator_removes_a_comment_hides_a_paper_and_blocks_a_user_giving_reasons(page, site, viewport):
    from papertide.community import accounts

    # A reader comments on a paper.
    author = sign_up(page, viewport)
    arxiv_id = page.get_by_test_id("paper-card").first.get_attribute("data-arxiv-id")
    page.goto(f"/papers/{arxiv_id}")
    page.fill("#comment-body", f"spam from {author}")
    page.locator("#comments form.new-comment button[type=submit]").click()
    expect(page.get_by_test_id("comment").filter(has_text=f"spam from {author}")).to_be_visible()
    page.get_by_role("button", name="Log out").click()

    # A moderator (made one from the command line's service) removes it from the thread: the
    # dialog asks for a reason, which then stands in the comment's place.
    moderator = sign_up(page, viewport)
    with site.database.session() as session:
        accounts.set_admin(session, moderator)
    page.goto(f"/papers/{arxiv_id}")
    comment = page.get_by_test_id("comment").filter(has_text=f"spam from {author}")
    comment.get_by_test_id("remove-comment").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text(f"Remove {author}'s comment?")
    dialog.locator("#reason").fill("spam")
    dialog.get_by_test_id("confirm-button").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("removed-note").first).to_contain_text("removed by a moderator: spam")

    # Blocking from the admin view asks too; the audit trail names everyone.
    page.goto("/admin")
    expect(page.locator("h1")).to_have_text("Moderation")
    page.get_by_test_id(f"block-{author}").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("link", name="Cancel").click()  # changing one's mind changes nothing
    expect(dialog).to_be_hidden()
    page.get_by_test_id(f"block-{author}").click()
    dialog.locator("#reason").fill("spam account")
    dialog.get_by_test_id("confirm-button").click()
    expect(page.get_by_test_id("flash")).to_contain_text(f"Blocked {author}")
    expect(page.get_by_test_id("audit-entry").first).to_have_text(f"{moderator} blocked {author}")
    expect(page.get_by_test_id("audit-entry").nth(1)).to_contain_text(f"{moderator} removed {author}'s comment on «")

    # Hiding a paper takes it off the lists for everyone but moderators.
    page.goto(f"/papers/{arxiv_id}")
    page.get_by_test_id("hide-paper").click()
    dialog.locator("#reason").fill("duplicate")
    dialog.get_by_test_id("confirm-button").click()
    expect(page.get_by_text("hidden from lists: duplicate")).to_be_visible()
    anonymous = page.context.browser.new_context(base_url=site.base_url)
    try:
        reader = anonymous.new_page()
        assert reader.goto(f"/papers/{arxiv_id}").status == 404
        reader.goto("/")
        expect(reader.locator(f'[data-arxiv-id="{arxiv_id}"]')).to_have_count(0)
    finally:
        anonymous.close()
    page.get_by_role("button", name="Unhide paper").click()
    expect(page.get_by_text("hidden from lists")).to_have_count(0)
    assert page.console_errors == []


def test_the_date_picker_goes_to_that_day(page, site):
    page.goto("/?sort=upvotes")
    picker = page.locator("#pick-date")
    page.goto("/?date=2026-08-12&sort=upvotes")
    expect(page.get_by_test_id("feed-heading")).to_have_text("Wednesday, August 12, 2026")
    picker.fill("2026-08-14")  # fires change: the form submits itself (static JS, no inline handler)
    expect(page).to_have_url(re.compile(r"\?date=2026-08-14&sort=upvotes$"))
    expect(page.get_by_test_id("feed-heading")).to_have_text("Friday, August 14, 2026")
