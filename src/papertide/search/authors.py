"""Author queries: a query that is someone's name means that person's papers, newest first.

A query has a name's shape when it is two to five words of letters (initials and hyphens
allowed), none of them a stopword. Its papers are found through the keyword index of each
backend (FTS5's ``authors`` column; PostgreSQL's ``search_document``, whose author names are
``simple`` lexemes), and kept when one of their authors *is* the name: the same words after
folding case and diacritics, in any order, or within a letter or two of it (rapidfuzz's token
sort ratio), so "Bengio Yoshua" and "Yoshua Bengo" find Yoshua Bengio. A close spelling of a
rarer name is first fixed by the lexicon's corrector, which knows the catalog's author names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.search.filters import SqlFilter
from papertide.search.keyword.postgres import tsquery_operand
from papertide.search.keyword.terms import STOPWORDS
from papertide.search.lexicon import words_of

MAX_AUTHOR_PAPERS = 200  # read newest first; more than any page shows
NAME_SIMILARITY = 90  # token sort ratio (0-100) from which two spellings are one name
_NAME = re.compile(r"^[^\W\d_][\w.'’-]*(\s+[^\W\d_][\w.'’-]*){1,4}$")


@dataclass(frozen=True)
class AuthorMatch:
    """The author a query named (as the catalog spells it) and their papers, newest first."""

    name: str
    paper_ids: list[int]


def looks_like_name(query: str) -> bool:
    return bool(_NAME.match(query.strip())) and not any(w in STOPWORDS for w in words_of(query))


def same_name(a: str, b: str) -> bool:
    first, second = " ".join(words_of(a)), " ".join(words_of(b))
    return first == second or fuzz.token_sort_ratio(first, second) >= NAME_SIMILARITY


def author_papers(session: Session, query: str, where: SqlFilter) -> AuthorMatch | None:
    """The papers of the author ``query`` names (passing ``where``), or None if it names nobody."""
    if not looks_like_name(query):
        return None
    rows = _candidates(session, query, where)
    matched: str | None = None
    ids = []
    for paper_id, authors in rows:
        name = next((a for a in _names(authors) if same_name(a, query)), None)
        if name is not None:
            matched = matched or name
            ids.append(paper_id)
    return AuthorMatch(matched, ids) if matched else None


def _candidates(session: Session, query: str, where: SqlFilter) -> list[tuple[int, object]]:
    """Papers whose author names hold every word of ``query``, newest first (a superset of theirs)."""
    if session.get_bind().dialect.name == "postgresql":
        lexemes = [w.lower() for w in re.findall(r"[^\W\d_]+", query)]
        condition, params = "p.search_document @@ CAST(:tsquery AS tsquery)", {"tsquery": " & ".join(tsquery_operand(w) for w in lexemes)}
    else:
        words = [w for w in re.findall(r"[^\W\d_]+", query)]
        condition = "p.id IN (SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match)"
        params = {"match": " AND ".join(f'{{authors}} : "{w}"' for w in words)}
    statement = text(f"SELECT p.id, p.authors FROM papers AS p WHERE {condition} AND {where.condition} "
                     "ORDER BY p.published_at DESC, p.id DESC LIMIT :limit")
    return session.execute(statement, {**params, **where.params, "limit": MAX_AUTHOR_PAPERS}).all()


def _names(authors) -> list[str]:
    if isinstance(authors, list):
        return [str(a) for a in authors]
    try:
        found = json.loads(authors or "[]")
    except ValueError:
        return []
    return [str(a) for a in found] if isinstance(found, list) else []
