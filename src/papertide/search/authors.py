"""Author queries: a query that is someone's name means that person's papers, newest first.

A query has a name's shape when it is two to five words of letters (initials, hyphens and
apostrophes allowed). The lexicon says whose name it is, as the catalog
spells it (the same words in any order, or a close spelling: ``Lexicon.author``); that person's
papers are then found through each backend's keyword index (FTS5's ``authors`` column;
PostgreSQL's ``search_document``, whose author names are ``simple`` lexemes) and kept when one
of their authors is exactly that name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.search.filters import SqlFilter
from papertide.search.keyword.postgres import tsquery_operand
from papertide.search.lexicon import Lexicon, author_list, fold_name

MAX_AUTHOR_PAPERS = 200  # read newest first; more than any page shows
_NAME = re.compile(r"^[^\W\d_][\w.'’-]*(\s+[^\W\d_][\w.'’-]*){1,4}$")
_NAME_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class AuthorMatch:
    """The author a query named (as the catalog spells it) and their papers, newest first."""

    name: str
    paper_ids: list[int]


def looks_like_name(query: str) -> bool:
    return bool(_NAME.match(query.strip()))


def author_papers(session: Session, query: str, where: SqlFilter, lexicon: Lexicon) -> AuthorMatch | None:
    """The papers of the author ``query`` names (passing ``where``), or None if it names nobody."""
    if not looks_like_name(query) or (name := lexicon.author(query)) is None:
        return None
    folded = fold_name(name)
    ids = [paper_id for paper_id, authors in _candidates(session, name, where)
           if any(fold_name(a) == folded for a in author_list(authors))]
    return AuthorMatch(name, ids) if ids else None


def _candidates(session: Session, name: str, where: SqlFilter) -> list[tuple[int, object]]:
    """Papers whose author names hold every word of ``name``, newest first (a superset of theirs)."""
    words = _NAME_WORD.findall(name)
    if session.get_bind().dialect.name == "postgresql":
        condition = "p.search_document @@ CAST(:tsquery AS tsquery)"
        params = {"tsquery": " & ".join(tsquery_operand(w.lower()) for w in words)}
    else:
        condition = "p.id IN (SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match)"
        params = {"match": " AND ".join(f'{{authors}} : "{w}"' for w in words)}
    statement = text(f"SELECT p.id, p.authors FROM papers AS p WHERE {condition} AND {where.condition} "
                     "ORDER BY p.published_at DESC, p.id DESC LIMIT :limit")
    return session.execute(statement, {**params, **where.params, "limit": MAX_AUTHOR_PAPERS}).all()
