"""Paper keys: an arXiv id, or a local id for a paper arXiv does not have.

A catalog keeps papers that are not on arXiv too: a lab's own preprints, or papers known only from
a saved listing. Such a paper is keyed ``local-`` + lower-case letters, digits and single hyphens,
e.g. ``local-acme-2026-003``, at most 40 characters (the key column's width). No arXiv id starts
with a letter followed by ``-`` and has no slash, so the two forms can never collide, and a
local id is one URL path segment as it is.

A record that names no id gets one derived from its title (``local_id_for_title``): the same
title, however it is cased or punctuated, always gives the same id, so ingesting it again is
idempotent. Whether a key is an arXiv paper is asked of ``is_arxiv_key``, never of the string.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from papertide.catalog.arxiv_ids import ID_PATTERN, InvalidArxivId, parse_arxiv_id

LOCAL_PREFIX = "local-"
MAX_KEY = 40
# The pattern alone, for the API's schema and path; the length is checked apart from it.
LOCAL_PATTERN = r"local-[a-z0-9]+(?:-[a-z0-9]+)*"
PAPER_ID_PATTERN = rf"(?:{ID_PATTERN}|{LOCAL_PATTERN})"
_LOCAL = re.compile(rf"^{LOCAL_PATTERN}$")


class InvalidPaperId(InvalidArxivId):
    """Raised for text that is neither an arXiv id nor a local id."""


def is_local_key(key: str) -> bool:
    """Whether ``key`` is a well-formed local id (``local-...``)."""
    return len(key) <= MAX_KEY and bool(_LOCAL.match(key))


def is_arxiv_key(key: str) -> bool:
    """Whether the catalog key ``key`` names an arXiv paper: the one question every link to
    arxiv.org, PDF URL, eprint field and citation_arxiv_id tag asks first."""
    return not key.startswith(LOCAL_PREFIX)


def parse_paper_id(text: str) -> tuple[str, int | None]:
    """An arXiv id (any spelling ``parse_arxiv_id`` takes, with its version) or a local id (no
    version; case is ignored); ``InvalidPaperId`` for anything else."""
    raw = text.strip()
    if raw[: len(LOCAL_PREFIX)].lower() == LOCAL_PREFIX:
        if is_local_key(raw.lower()):
            return raw.lower(), None
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        raise InvalidPaperId(
            f"not a local id: {shown!r} (expected 'local-' and then lower-case letters, digits and single "
            f"hyphens, at most {MAX_KEY} characters in all, e.g. local-acme-2026-003)"
        )
    try:
        return parse_arxiv_id(raw)
    except InvalidArxivId as error:
        raise InvalidPaperId(f"{error}, or a local id such as local-acme-2026-003") from None


def normalise_paper_id(text: str) -> str | None:
    """Any spelling of a paper's id to its catalog key; None if it is no id. For input from a URL
    or a form, where anything may arrive (cut to 200 characters first)."""
    try:
        return parse_paper_id((text or "")[:200])[0]
    except InvalidPaperId:
        return None


def title_key(title: str) -> str:
    """A title reduced to what identifies it: compatibility-normalised, case-folded, words of
    letters and digits joined by single spaces (``"Drama: Mamba-Enabled..."`` ->
    ``"drama mamba enabled ..."``). Also how two listings of one paper are matched."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())


def local_id_for_title(title: str) -> str:
    """The local id a record without one gets: ``local-`` + 12 hex digits of the SHA-256 of its
    ``title_key`` (48 bits: a collision is unlikely below millions of local papers)."""
    return LOCAL_PREFIX + hashlib.sha256(title_key(title).encode()).hexdigest()[:12]
