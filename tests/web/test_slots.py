"""Slots cut from a render and filled per reader (``web.slots``), without the app."""

from __future__ import annotations

from markupsafe import Markup

from papertide.web.slots import Recorder, ReaderValues, choose, holds


def test_a_page_is_cut_at_its_markers_and_filled_with_each_readers_values():
    recorder = Recorder()
    name, token, voted = recorder.text("username"), recorder.text("csrf"), recorder.pending("voted")
    html = Markup("<b>{}</b><i>{}</i>|{}|{}|<u>{}</u>").format(
        name, token, choose(holds(voted, 1), "on", "off"), choose(holds(voted, 2), "on", "off"), token)
    page = recorder.cut(str(html))
    assert page.keys("choice", "voted") == [1, 2] and page.keys("fragment", "menu") == []
    ada = page.fill(ReaderValues({"username": "ada", "csrf": "t1"}, {"voted": {2}}, {}))
    grace = page.fill(ReaderValues({"username": "g<r>ace", "csrf": "t2"}, {"voted": set()}, {}))
    assert ada == "<b>ada</b><i>t1</i>|off|on|<u>t1</u>"
    assert grace == "<b>g&lt;r&gt;ace</b><i>t2</i>|off|off|<u>t2</u>"  # values are escaped as text


def test_a_real_readers_answers_are_plain_and_escaped():
    assert holds({3}, 3) is True and holds(None, 3) is False
    assert choose(True, "<yes>", "no") == "&lt;yes&gt;" and choose(False, "yes", "no") == "no"


def test_a_marker_of_another_render_is_left_as_it_is():
    first, second = Recorder(), Recorder()
    stray = str(first.text("username"))
    page = second.cut(f"{stray}{second.text('username')}")
    assert page.fill(ReaderValues({"username": "ada"}, {}, {})) == f"{stray}ada"


def test_the_store_of_shared_pages_keeps_its_budgets_and_versions():
    from papertide.web.reader_pages import ReaderPage, ReaderPages
    from papertide.web.slots import SharedPage

    now = [0.0]
    pages = ReaderPages(max_entries=3, max_bytes=25, ttl=10.0, clock=lambda: now[0])
    page = lambda text: ReaderPage(SharedPage((text,), ()), "text/html", frozenset())  # noqa: E731
    pages.put("a", 1, page("x" * 10))
    pages.put("b", 1, page("y" * 10))
    assert pages.get("a", 1) is not None  # "a" is now the more recently used
    pages.put("c", 1, page("z" * 10))  # 30 characters: the least recently used ("b") leaves
    assert pages.get("b", 1) is None and pages.get("a", 1) is not None and pages.get("c", 1) is not None
    assert pages.get("a", 2) is None  # another version: a miss
    assert "a" not in pages  # and the stale entry is gone
    now[0] = 10.0
    assert pages.get("c", 1) is None  # expired
