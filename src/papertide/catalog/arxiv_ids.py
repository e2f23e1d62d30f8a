"""arXiv identifiers: the two shapes arXiv has used, and the versions on top of them.

New style (April 2007 on): ``YYMM.NNNN`` or, from 2015, ``YYMM.NNNNN``.
Old style: ``archive[.SUBJECT]/YYMMNNN``, e.g. ``astro-ph/0601001`` or ``math.GT/0309136``.
Either may carry a version suffix ``vN``; papertide keys papers by the id without it.
"""

from __future__ import annotations

import re

# [0-9], not \d: Python's \d takes any script's digits, and no arXiv id has those.
_NEW = r"[0-9]{4}\.[0-9]{4,5}"
_OLD = r"[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/[0-9]{7}"
# An id with its optional version, as a plain pattern (the API's schema uses it too).
ID_PATTERN = rf"(?:{_NEW}|{_OLD})(?:v[0-9]{{1,4}})?"
_ID = re.compile(rf"^(?P<id>{_NEW}|{_OLD})(?:v(?P<version>[0-9]{{1,4}}))?$")
_PREFIXES = re.compile(r"^(?:https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/|arxiv:)", re.IGNORECASE)


class InvalidArxivId(ValueError):
    """Raised for text that is not an arXiv identifier."""


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """``"arXiv:2405.15738v2"`` -> ``("2405.15738", 2)``; also takes abs/pdf URLs.

    Raises InvalidArxivId with the offending text (shortened) for anything else.
    """
    raw = text.strip()
    candidate = _PREFIXES.sub("", raw).removesuffix(".pdf").strip("/")
    match = _ID.match(candidate)
    if not match:
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        raise InvalidArxivId(
            f"not an arXiv id: {shown!r} (expected e.g. 2405.15738, 2405.15738v2 or astro-ph/0601001)"
        )
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def is_arxiv_id(text: str) -> bool:
    try:
        parse_arxiv_id(text)
    except InvalidArxivId:
        return False
    return True


def normalise_arxiv_id(text: str) -> str | None:
    """``2405.15738v2`` / ``arXiv:...`` / an abs URL to the catalog key; None if not an id.

    For lookups from a URL or a search box, where anything may arrive: the input is cut to 200
    characters before parsing, and "not an id" is an answer rather than an error."""
    try:
        return parse_arxiv_id((text or "")[:200])[0]
    except InvalidArxivId:
        return None
