"""Community rules, tested on the services with a real database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from papertide.catalog.models import DailyEntry, Paper
from papertide.community import accounts, audit, comments, moderation, ratelimit, submissions, threads, votes
from papertide.community.errors import Blocked, CommunityError, Conflict, Forbidden, NotFound, Unavailable
from papertide.community.models import ModerationAction, RateLimitEvent, User, Vote
from tests.catalog.helpers import NOW, make_record

PASSWORD = "a long password"


def _user(session, name="reader", **kwargs):
    return accounts.sign_up(session, name, PASSWORD, **kwargs)


# --- accounts ---------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_hashes(database, production_hasher):
    with database.session() as session:
        _user(session, "ada", email="Ada@Example.org")
    with database.session() as session:
        user = session.scalar(select(User).where(User.username == "ada"))
        assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and PASSWORD not in user.password_hash
        assert user.email == "ada@example.org"
        assert accounts.authenticate(session, "ada", PASSWORD).username == "ada"
        assert accounts.authenticate(session, "ADA", PASSWORD).username == "ada"
        assert accounts.authenticate(session, "ada", "wrong password") is None
        assert accounts.authenticate(session, "nobody", PASSWORD) is None


@pytest.mark.parametrize("username,password,email", [
    ("ab", PASSWORD, None), ("a" * 41, PASSWORD, None), ("bad name", PASSWORD, None), ("<script>", PASSWORD, None),
    ("admin", PASSWORD, None), ("fine", "short", None), ("fine", "x" * 257, None), ("fine", PASSWORD, "not-an-email"),
    ("fine", PASSWORD, "a@b." + "c" * 400),
])
def test_sign_up_rejects_bad_input(database, username, password, email):
    with database.session() as session, pytest.raises(CommunityError):
        accounts.sign_up(session, username, password, email)


def test_usernames_are_unique_ignoring_case(database):
    with database.session() as session:
        _user(session, "Grace")
    with database.session() as session, pytest.raises(Conflict):
        _user(session, "grace")


def test_blocked_users_cannot_log_in_vote_or_comment(catalog):
    with catalog.session() as session:
        admin = _user(session, "mod", is_admin=True)
        troll = _user(session, "troll")
        moderation.block_user(session, admin.id, "troll", "spam")
    with catalog.session() as session:
        assert accounts.authenticate(session, "troll", "not the password") is None  # a guesser learns nothing
        with pytest.raises(Blocked, match="blocked by the moderators: spam"):  # the owner is told why
            accounts.authenticate(session, "troll", PASSWORD)
        with pytest.raises(Forbidden):
            votes.toggle_vote(session, troll.id, "2508.00001")
        with pytest.raises(Forbidden):
            comments.add_comment(session, troll.id, "2508.00001", "hello")


# --- votes ------------------------------------------------------------------------------------


def test_toggle_vote_counts_exactly(catalog):
    with catalog.session() as session:
        user = _user(session)
        assert votes.toggle_vote(session, user.id, "2508.00001") == (True, 6)  # 5 imported + 1
        assert votes.toggle_vote(session, user.id, "2508.00001") == (False, 5)
        assert votes.toggle_vote(session, user.id, "2508.00001") == (True, 6)
        assert votes.set_vote(session, user.id, "2508.00001", True) == (True, 6)  # idempotent
        assert votes.has_voted(session, user.id, "2508.00001")
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "2508.00001"))
        assert paper.vote_count == session.scalar(select(func.count()).select_from(Vote).where(Vote.paper_id == paper.id)) == 1
        assert votes.voted_papers(session, user.id, [paper.id, paper.id + 1]) == {paper.id}


def test_one_vote_per_user_per_paper_is_a_database_constraint(catalog):
    with catalog.session() as session:
        user = _user(session)
        votes.toggle_vote(session, user.id, "2508.00001")
        paper_id = session.scalar(select(Paper.id).where(Paper.arxiv_id == "2508.00001"))
    with pytest.raises(IntegrityError), catalog.session() as session:
        session.execute(insert(Vote).values(user_id=user.id, paper_id=paper_id, created_at=NOW))


def test_voting_on_unknown_or_hidden_papers_is_not_found(catalog):
    with catalog.session() as session:
        admin = _user(session, "mod", is_admin=True)
        moderation.hide_paper(session, admin.id, "2508.00002", "duplicate")
        for arxiv_id in ("2508.00002", "2599.99999"):
            with pytest.raises(NotFound):
                votes.toggle_vote(session, admin.id, arxiv_id)


# --- comments ---------------------------------------------------------------------------------

XSS_COMMENTS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<svg/onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '"><b onmouseover=alert(1)>hover</b>',
    "![img](https://evil.example/x.png)",
]


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from some HTML."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def assert_inert(html: str) -> None:
    """Only the allowed tags, no event handlers or styles, links only to http(s)/mailto."""
    for tag, attrs in _Elements(html).found:
        assert tag in comments.ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on") and name not in ("style", "src", "srcdoc"), (name, html)
            if name == "href":
                assert value.split(":", 1)[0].lower() in ("http", "https", "mailto"), (value, html)


@pytest.mark.parametrize("payload", XSS_COMMENTS)
def test_comment_rendering_is_never_executable(payload):
    assert_inert(comments.render_markdown(payload))


def test_markdown_renders_safely_with_links_marked_nofollow():
    html = comments.render_markdown("**bold** and `code` and [a link](https://example.org)\n\n- one\n- two")
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html and "<li>one</li>" in html
    assert '<a href="https://example.org" rel="nofollow noopener ugc">a link</a>' in html
    assert comments.render_markdown("plain text, no markup: 2 < 3 & 4 > 1") == "<p>plain text, no markup: 2 &lt; 3 &amp; 4 &gt; 1</p>\n"


def test_comments_count_replies_and_limits(catalog):
    with catalog.session() as session:
        user = _user(session)
        first = comments.add_comment(session, user.id, "2508.00001", "  First!\r\n")
        reply = comments.add_comment(session, user.id, "2508.00001", "a reply", parent_id=first.id)
        with pytest.raises(CommunityError):
            comments.add_comment(session, user.id, "2508.00001", "   ")
        with pytest.raises(CommunityError):
            comments.add_comment(session, user.id, "2508.00001", "x" * (comments.MAX_COMMENT + 1))
        with pytest.raises(CommunityError):  # a reply must be on the same paper
            comments.add_comment(session, user.id, "2508.00002", "wrong thread", parent_id=first.id)
        listed = threads.list_comments(session, "2508.00001")
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "2508.00001"))
    assert [c.body for c in listed] == ["First!", "a reply"] and listed[1].parent_id == first.id == reply.parent_id
    assert paper.comment_count == 2 and listed[0].author == "reader"


def test_comments_lose_bidi_overrides_and_what_xml_forbids_but_keep_their_lines(catalog):
    with catalog.session() as session:
        user = _user(session)
        added = comments.add_comment(session, user.id, "2508.00001", "Safe\u202etxt.exe\n\tnext \x00line\ufffe \ud800")
    assert added.body == "Safetxt.exe\n\tnext line"


def test_removed_comments_stay_in_place_and_blocked_authors_leave_the_thread(catalog):
    with catalog.session() as session:
        admin, user, other = _user(session, "mod", is_admin=True), _user(session, "one"), _user(session, "two")
        kept = comments.add_comment(session, user.id, "2508.00001", "kept")
        removed = comments.add_comment(session, user.id, "2508.00001", "hidden")
        comments.add_comment(session, other.id, "2508.00001", "by a troll")
        moderation.hide_comment(session, admin.id, removed.id, "off topic")
        moderation.block_user(session, admin.id, "two", "spam")
    with catalog.session() as session:
        shown = threads.list_comments(session, "2508.00001")
        assert [(c.id, c.state, c.body, c.removed_reason) for c in shown] == [
            (kept.id, "shown", "kept", None), (removed.id, "removed", "", "off topic")]
        assert [c.state for c in threads.list_comments(session, "2508.00001", include_hidden=True)] == ["shown", "removed", "withheld"]
        assert session.scalar(select(Paper.comment_count).where(Paper.arxiv_id == "2508.00001")) == 2


# --- submissions ------------------------------------------------------------------------------


def test_submitting_a_catalog_paper_puts_it_on_today(catalog):
    with catalog.session() as session:
        user = _user(session)
        result = submissions.submit_paper(session, user.id, "arXiv:2508.00007v3", fetch=lambda _: None, now=NOW)
        entry = session.scalar(select(DailyEntry).join(Paper).where(Paper.arxiv_id == "2508.00007"))
    assert result.arxiv_id == "2508.00007" and not result.fetched and result.daily_date == NOW.date()
    assert entry.submitted_by_user_id == user.id and entry.source == "user"


def test_submitting_an_unknown_paper_fetches_it(catalog):
    fetched = []

    def fetch(arxiv_id):
        fetched.append(arxiv_id)
        return make_record(arxiv_id, "Fetched from arXiv", day=date(2020, 1, 1))  # its daily part is ignored

    with catalog.session() as session:
        user = _user(session)
        result = submissions.submit_paper(session, user.id, "https://arxiv.org/abs/2508.09999", fetch, now=NOW)
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == "2508.09999"))
        day = session.scalar(select(DailyEntry.daily_date).where(DailyEntry.paper_id == paper.id))
    assert fetched == ["2508.09999"] and result.fetched and paper.title == "Fetched from arXiv" and day == NOW.date()


def test_arxiv_being_down_is_a_clear_error_and_changes_nothing(catalog):
    def fetch(arxiv_id):
        raise OSError("connection refused")

    with catalog.session() as session:
        user = _user(session)
    with pytest.raises(Unavailable, match="try again later"), catalog.session() as session:
        submissions.submit_paper(session, user.id, "2508.77777", fetch, now=NOW)
    with catalog.session() as session:
        assert session.scalar(select(Paper).where(Paper.arxiv_id == "2508.77777")) is None


def test_submission_errors_are_clear(catalog):
    with catalog.session() as session:
        user = _user(session)
        with pytest.raises(CommunityError, match="not an arXiv id"):
            submissions.submit_paper(session, user.id, "<script>", lambda _: None, now=NOW)
        with pytest.raises(NotFound, match="arXiv has no paper"):
            submissions.submit_paper(session, user.id, "2508.55555", lambda _: None, now=NOW)
        with pytest.raises(Conflict, match="already on the daily list of 2025-08-18"):
            submissions.submit_paper(session, user.id, "2508.00001", lambda _: None, now=NOW)


# --- moderation -------------------------------------------------------------------------------


def test_moderation_needs_a_moderator_and_is_audited(catalog):
    with catalog.session() as session:
        admin, user = _user(session, "mod", is_admin=True), _user(session, "reader")
        with pytest.raises(Forbidden):
            moderation.hide_paper(session, user.id, "2508.00001")
        moderation.hide_paper(session, admin.id, "2508.00001", "duplicate")
        moderation.unhide_paper(session, admin.id, "2508.00001")
        moderation.block_user(session, admin.id, "reader", "spam")
        with pytest.raises(CommunityError):
            moderation.block_user(session, admin.id, "mod", "testing")
    with catalog.session() as session:
        log = audit.audit_log(session)
        assert [(e.action, e.moderator, e.reason) for e in log] == [
            ("block_user", "mod", "spam"), ("unhide_paper", "mod", None), ("hide_paper", "mod", "duplicate")]
        assert session.scalar(select(func.count()).select_from(ModerationAction)) == 3
        assert [u.username for u in moderation.list_users(session, blocked_only=True)] == ["reader"]


# --- rate limits ------------------------------------------------------------------------------


def test_rate_limit_refuses_past_the_limit_and_recovers_after_the_window(database):
    limit = ratelimit.LIMITS["comment"]
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for n in range(limit.count):
        with database.session() as session:
            ratelimit.hit(session, "comment", "user:1", now=start + timedelta(seconds=n))
    with pytest.raises(ratelimit.RateLimited) as refused, database.session() as session:
        ratelimit.hit(session, "comment", "user:1", now=start + timedelta(seconds=limit.count))
    assert 0 < refused.value.retry_after <= limit.window.total_seconds()
    with database.session() as session:  # another subject is not affected
        ratelimit.hit(session, "comment", "user:2", now=start + timedelta(seconds=limit.count))
    with database.session() as session:  # the window has passed: allowed, and old events are gone
        ratelimit.hit(session, "comment", "user:1", now=start + limit.window + timedelta(seconds=limit.count))
        assert session.scalar(select(func.count()).select_from(RateLimitEvent).where(RateLimitEvent.key == "comment:user:1")) == 1


def test_check_then_record_counts_only_what_is_recorded(database):
    limit = ratelimit.LIMITS["login"]
    with database.session() as session:
        for _ in range(limit.count * 2):
            ratelimit.check(session, "login", "user:ada", now=NOW)  # checking alone never fills the window
        for _ in range(limit.count):
            ratelimit.check(session, "login", "user:ada", now=NOW)
            ratelimit.record(session, "login", "user:ada", now=NOW)
        with pytest.raises(ratelimit.RateLimited):
            ratelimit.check(session, "login", "user:ada", now=NOW)


def test_prune_forgets_events_outside_every_window(database):
    old, recent = NOW - timedelta(hours=2), NOW - timedelta(minutes=1)
    with database.session() as session:
        # The recent event first: ``record`` itself prunes now and then (one call in PRUNE_EVERY),
        # and a prune at ``recent`` would take the old events before the one this test makes.
        ratelimit.record(session, "vote", "user:1", now=recent)
        for n in range(5):
            ratelimit.record(session, "signup", f"ip:10.0.0.{n}", now=old)  # addresses never seen again
        assert ratelimit.prune(session, now=NOW) == 5
        assert session.scalar(select(func.count()).select_from(RateLimitEvent)) == 1


def test_rate_limits_scale_and_switch_off(database):
    with database.session() as session:
        for _ in range(ratelimit.LIMITS["signup"].count * 3):
            ratelimit.hit(session, "signup", "ip:x", now=NOW, scale=3)
        with pytest.raises(ratelimit.RateLimited):
            ratelimit.hit(session, "signup", "ip:x", now=NOW, scale=3)
        for _ in range(100):
            ratelimit.hit(session, "signup", "ip:y", now=NOW, scale=0)

