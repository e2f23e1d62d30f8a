"""Catalog text: what no stored text keeps, what feeds can carry, and what counts as markup in a title.

XML is checked with lxml, the library the feeds are built with (through feedgen): it refuses exactly
the characters XML 1.0 forbids, which is how one bad title used to make every feed answer 500.
"""

import pytest
from feedgen.feed import FeedGenerator
from lxml import etree
from pydantic import ValidationError

from papertide.catalog.record import PaperRecord, describe_error
from papertide.catalog.text import BIDI_CONTROLS, clean_text, find_markup, strip_unsafe, xml_safe

EVERY_CODE_POINT = "".join(map(chr, range(0x110000)))
XML_FORBIDDEN = [*map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]), "\ud800", "\udbff", "\udc00", "\udfff",
                 "\ufffe", "\uffff"]


def lxml_refuses(text: str) -> list[str]:
    """The characters of ``text`` that lxml will not put in a document (one check per character)."""
    refused = []
    for character in set(text):
        try:
            etree.Element("t").text = character
        except (ValueError, UnicodeEncodeError):
            refused.append(f"U+{ord(character):04X}")
    return sorted(refused)


def make(**fields):
    return PaperRecord.model_validate({"arxiv_id": "2405.15738", "title": "A title", **fields})


def test_the_forbidden_list_is_what_lxml_refuses():
    assert lxml_refuses("".join(XML_FORBIDDEN) + "a\t\n\r\u0085\ufdd0\U0010ffff") == sorted(
        f"U+{ord(c):04X}" for c in XML_FORBIDDEN)


def test_clean_text_of_every_code_point_can_go_into_a_feed():
    assert lxml_refuses(clean_text(EVERY_CODE_POINT)) == []


def test_xml_safe_of_every_code_point_can_go_into_a_feed_and_drops_only_what_xml_forbids():
    safe = xml_safe(EVERY_CODE_POINT)
    assert lxml_refuses(safe) == []
    assert len(EVERY_CODE_POINT) - len(safe) == len(set(XML_FORBIDDEN) | {chr(c) for c in range(0xD800, 0xE000)})
    assert xml_safe("plain title") == "plain title"
    assert xml_safe("keeps\ttabs\nand lines") == "keeps\ttabs\nand lines"


def test_a_feed_builds_with_xml_safe_text():
    feed = FeedGenerator()
    feed.id("https://example.org/feed")
    feed.title(xml_safe("Q\x00 with \x1b[31m controls \ufffe\uffff and a lone \ud800 surrogate"))
    feed.link(href="https://example.org/")
    feed.description(xml_safe("Papers\x01 matching"))
    assert b"controls" in feed.rss_str()


@pytest.mark.parametrize("field, value", [
    ("title", "A title \ufffe with a non-character"),
    ("abstract", "An abstract \uffff with one"),
    ("abstract", "A lone \ud800 surrogate"),
    ("comment", "Comment \x01 with a C0 control"),
    ("journal_ref", "J. Ref \x08"),
    ("primary_category", "cs.CL\x01"),
    ("doi", "10.1000/\x02182"),
])
def test_every_stored_text_field_is_xml_safe(field, value):
    record = make(**{field: value})
    assert lxml_refuses(getattr(record, field)) == []


def test_names_and_lists_are_xml_safe_too():
    record = make(authors=["Ada \x01Lovelace\ufffe"], categories=["cs.CL\x02"], ai_keywords=["k\uffff"],
                  organization={"slug": "acme", "name": "ACME \x03AI"},
                  daily={"date": "2025-01-02", "submitted_by": "user\x04"})
    texts = [*record.authors, *record.categories, *record.ai_keywords, record.organization.name, record.daily.submitted_by]
    assert lxml_refuses("".join(texts)) == []


def test_urls_with_control_characters_are_rejected():
    with pytest.raises(ValidationError, match="not an http"):
        make(github_repo="https://github.com/a/b\x01c")


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_bidi_override_and_isolate_controls_are_stripped_from_what_people_read(control):
    spoof = f"Safe{control}txt.exe"
    record = make(title=spoof, abstract=spoof, authors=[spoof], organization={"slug": "acme", "name": spoof})
    assert {record.title, record.abstract, record.authors[0], record.organization.name} == {"Safetxt.exe"}


def test_bidi_controls_are_the_embeddings_overrides_and_isolates_and_marks_are_kept():
    assert BIDI_CONTROLS == set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert clean_text("\u05e9\u05dc\u05d5\u05dd\u200f (Hebrew)") == "\u05e9\u05dc\u05d5\u05dd\u200f (Hebrew)"


def test_strip_unsafe_keeps_lines_for_multi_line_text():
    assert strip_unsafe("line one\u202e\n\tline two\x00\ufffe") == "line one\n\tline two"


@pytest.mark.parametrize("title", [
    "<svg/onload=alert(1)>",
    "Nice <details open ontoggle=alert(1)> paper",
    "<IMG SRC=x OnError=alert(1)>",
    "<think onclick=alert(1)> about it",
    "Attention <iframe></iframe>",
    "Sums of <math><mi>x</mi></math>",
    "A <template>shadow</template> title",
    "A <dialog open> title",
    "<!-- hidden --> title",
    "A </script> title",
])
def test_markup_in_titles_is_found_by_a_real_tokenizer(title):
    with pytest.raises(ValidationError) as caught:
        make(title=title)
    assert "titles must be plain text" in describe_error(caught.value)


@pytest.mark.parametrize("title", [
    "DeepSeek-R1 Thoughtology: Let's <think> about LLM Reasoning",  # a real title (arXiv 2504.07128)
    "From <think> to </think>: reasoning traces",
    "Bounds for a < b > c",
    "I <3 transformers",
    "Vec<u8> and List<int> in typed languages",
    "x<y and y>z",
])
def test_angle_brackets_that_are_not_markup_are_kept(title):
    assert make(title=title).title == title
    assert find_markup(title) is None
