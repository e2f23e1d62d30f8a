"""Author names: one normal form per person's name, and the index from names to papers.

Sources spell one name several ways: "Zoë Ünal" and "Zoe Unal", "J. R. Smith" and "J.R. Smith",
"ada lovelace" typed into a URL. ``author_key`` maps all of these to one key (Unicode
compatibility forms folded, accents and case dropped, punctuation and spacing collapsed), so an
author page, a follow and a digest all mean the same person by the same name. It does not guess
that "A. Lovelace" is "Ada Lovelace": initials are a different name, often a different person.

``paper_authors`` holds a 64-bit hash of each key per paper (``PaperAuthor``); the upsert keeps it
equal to ``papers.authors`` (``index_authors``), and readers confirm matches on the names
themselves, so a collision costs a row read, never a wrong paper.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from papertide.catalog.models import Paper, PaperAuthor

# Letters that carry no combining mark to drop, folded by hand (casefold does ß).
_LETTERS = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d",
                          "þ": "th", "Þ": "th", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i", "ħ": "h"})
_SEPARATORS = re.compile(r"[\W_]+")
MAX_NAME = 300  # characters of a name looked at: a URL or a follow longer than this is no name

_table = PaperAuthor.__table__


@lru_cache(maxsize=65_536)  # ingest meets the same names again and again
def author_key(name: str) -> str:
    """The normal form of a name: "Zoë  Ünal-Smith" -> "zoe unal smith"; "" when nothing is left."""
    text = (name or "")[:MAX_NAME]
    if text.isascii():  # nearly every name: no forms to fold, no marks to drop
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKD", text.translate(_LETTERS))
        text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    return " ".join(_SEPARATORS.sub(" ", text).split())


def key_hash(key: str) -> int:
    """A signed 64-bit hash of a key, as ``paper_authors.author_hash`` stores it."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def has_author(authors: Iterable[str], key: str) -> bool:
    return any(author_key(name) == key for name in authors or ())


def index_authors(session: Session | Connection, authors_of: Mapping[int, Sequence[str]], *, new: bool = False) -> None:
    """Make ``paper_authors`` hold exactly the names of each given paper (``new``: papers that have
    no rows yet, so there is nothing to delete first)."""
    if not authors_of:
        return
    if not new:
        session.execute(delete(_table).where(_table.c.paper_id.in_(list(authors_of))))
    rows = [{"author_hash": hashed, "paper_id": paper_id} for paper_id, names in authors_of.items()
            for hashed in {key_hash(key) for key in map(author_key, names or ()) if key}]
    if rows:
        session.execute(insert(_table), rows)


def paper_ids_by(session: Session, key: str) -> list[int]:
    """Ids of the papers whose author list may hold ``key`` (confirm with ``has_author``)."""
    if not key:
        return []
    return list(session.scalars(select(_table.c.paper_id).where(_table.c.author_hash == key_hash(key))))


def rebuild_author_index(session: Session | Connection, batch: int = 5_000) -> int:
    """Index every paper's authors again (the migration that adds the index; a changed normal form).
    Returns how many papers were indexed."""
    session.execute(delete(_table))
    last, count = 0, 0
    while True:
        rows = session.execute(select(Paper.id, Paper.authors).where(Paper.id > last).order_by(Paper.id).limit(batch)).all()
        if not rows:
            return count
        index_authors(session, {paper_id: authors for paper_id, authors in rows}, new=True)
        last, count = rows[-1][0], count + len(rows)
