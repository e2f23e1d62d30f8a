"""What catalog text may contain: one definition for ingest, the feeds and comments.

Three kinds of character never belong in stored text:

* what XML 1.0 forbids (C0 controls but tab, LF and CR; surrogates; U+FFFE and U+FFFF): one such
  character in a title made every feed that listed it fail, since lxml refuses to build the document.
  A lone surrogate cannot even be encoded as UTF-8, so no database or JSON writer takes it either;
* bidi embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069): they reorder the text
  around them, so a title or a name can display as something it is not ("Safe\\u202etxt.exe"). The
  marks (U+200E, U+200F, U+061C) stay: right-to-left names need them and they reorder nothing;
* other invisible or layout controls (C1, zero-width space, line/paragraph separators, BOM).
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

_XML_FORBIDDEN = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BIDI = "\u202a-\u202e\u2066-\u2069"
_LAYOUT = "\x7f-\x9f\u200b\u2028\u2029\ufeff"

_XML_FORBIDDEN_RE = re.compile(f"[{_XML_FORBIDDEN}]")
_BIDI_RE = re.compile(f"[{_BIDI}]")
# Replaced by a space (then collapsed): most of these separate words where they stand.
_CONTROL_RE = re.compile(f"[{_XML_FORBIDDEN}{_LAYOUT}]")
# For multi-line text (comments): the same set, but tab, LF and CR are kept and nothing is replaced.
_UNSAFE_RE = re.compile(f"[{_XML_FORBIDDEN}{_BIDI}{_LAYOUT}]")


def xml_safe(text: str) -> str:
    """``text`` without what XML 1.0 forbids, for anything built into an XML document (the feeds).

    Catalog text is already clean (``clean_text``); this is for what is not, such as a search query
    echoed into a feed's title. Everything else is left as it is.
    """
    return text if text.isprintable() else _XML_FORBIDDEN_RE.sub("", text)


def strip_unsafe(text: str) -> str:
    """Multi-line text (a comment) without the characters no stored text keeps; lines and tabs stay."""
    return text if text.isprintable() else _UNSAFE_RE.sub("", text)


def clean_text(value: str) -> str:
    """NFC, no control characters, single spaces: how all catalog text is stored.

    Ingest calls this on every field of every record, so the common case (text that is already
    clean) takes only C-speed checks: ``isprintable`` is False for every character removed here
    (all are in Unicode's Cc, Cf, Cs, Cn or separator categories) and for all whitespace but the
    space; ``str.split`` splits on exactly what ``\\s`` matches.
    """
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    if value.isprintable():  # no control characters, and no whitespace but plain spaces
        if "  " not in value and value[:1] != " " and value[-1:] != " ":
            return value
    else:
        value = _CONTROL_RE.sub(" ", _BIDI_RE.sub("", value))
    return " ".join(value.split())


# Elements HTML defines (the living standard's index, the obsolete ones browsers still parse, and the
# roots of SVG and MathML). A tag of any other name, such as "<think>" in papers on reasoning traces,
# is an inert unknown element to a browser and stays in a title as text (escaped on output).
HTML_ELEMENTS = frozenset("""
    a abbr address area article aside audio b base bdi bdo blockquote body br button canvas caption
    cite code col colgroup data datalist dd del details dfn dialog div dl dt em embed fieldset
    figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img input ins
    kbd label legend li link main map mark math menu meta meter nav noscript object ol optgroup option
    output p param picture pre progress q rp rt ruby s samp script search section select selectedcontent
    slot small source span strong style sub summary sup svg table tbody td template textarea tfoot th
    thead time title tr track u ul var video wbr
    acronym applet basefont bgsound big blink center dir font frame frameset image isindex keygen
    listing marquee menuitem multicol nextid nobr noembed noframes plaintext portal rb rtc spacer
    strike tt xmp
""".split())


class _MarkupFinder(HTMLParser):
    """The standard library's HTML tokenizer, stopping at the first piece of real markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: str | None = None

    def _note(self, markup: str) -> None:
        if self.found is None:
            self.found = markup

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # An attribute with a value, an event handler or a style is markup on any element.
        if tag in HTML_ELEMENTS or any(value is not None or name.startswith("on") or name == "style"
                                       for name, value in attrs):
            self._note(self.get_starttag_text() or f"<{tag}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag in HTML_ELEMENTS:
            self._note(f"</{tag}>")

    def handle_comment(self, data: str) -> None:
        self._note(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self._note(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self._note(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self._note(f"<![{data}]>")


def find_markup(text: str) -> str | None:
    """The first HTML markup in ``text`` as a browser's tokenizer would see it, or None for plain text."""
    if "<" not in text:
        return None
    finder = _MarkupFinder()
    finder.feed(text)
    finder.close()
    return finder.found
