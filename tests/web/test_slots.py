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
