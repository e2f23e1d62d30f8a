"""Keyword retrieval: BM25 over the FTS5 index, with user text that can never become FTS5 syntax.

(On PostgreSQL the same terms go to a weighted tsvector instead: ``keyword_postgres.py``.)

The query is cut into words and each word is sent as a quoted FTS5 string, joined by OR: quotes,
``AND``/``OR``/``NEAR``, ``*``, ``:`` and parentheses in the input are just text, so no input
can raise an FTS5 syntax error. OR (ranked by BM25) rather than AND because people describe a
paper in words it does not contain; AND found the target for 13% of known-item queries, OR for
96% in the top ten (benchmarks/search_quality.py, see README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy.orm import Session

from papertide.search.keyword.postgres import keyword_search_postgres
from papertide.search.keyword.fts5 import bounded_bm25

# Column weights for bm25(): title, abstract, authors. Measured on both benchmarks: equal weights
# won (title x1.5 / authors x0.5 cost 0.04 nDCG@10 on CACM and gained nothing on known-item).
COLUMN_WEIGHTS = (1.0, 1.0, 1.0)
MAX_TERMS = 64  # a 10 KB paste becomes a long but bounded OR query
MAX_BIGRAMS = 32

# Function words, plus the words of a search request ("papers about ..."), which match everything.
STOPWORDS = frozenset(
    """a about all also am an and any are as at be been being but by can could do does for from had has
    have how i if in into is it its me my of on or our over so such than that the their them then there
    these they this those to was we were what when where which while who why will with would you your
    article articles paper papers interested find looking""".split()
)
_WORD = re.compile(r"\w+", re.UNICODE)


def query_terms(query: str) -> list[str]:
    """Distinct lower-case words of ``query``, stopwords dropped unless nothing else is left."""
    words = [w.lower() for w in _WORD.findall(query)]
    kept = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(kept))[:MAX_TERMS]


def query_bigrams(query: str) -> list[str]:
    """Adjacent pairs of non-stopwords, in query order: "sparse attention", "long documents"."""
    words = [w.lower() for w in _WORD.findall(query)]
    pairs = [f"{a} {b}" for a, b in zip(words, words[1:]) if a not in STOPWORDS and b not in STOPWORDS]
    return list(dict.fromkeys(pairs))[:MAX_BIGRAMS]


def query_phrases(query: str) -> list[str]:
    """What keyword search looks for: every word, plus every adjacent pair as a phrase (a paper
    that has the query's words in the query's order scores higher: +0.03 nDCG@10 on CACM, +0.003
    MRR@10 on known-item for BM25; a pair weighs half a word, ``phrase_weight.py``). Empty when
    ``query`` has no words at all."""
    terms = query_terms(query)
    return terms + query_bigrams(query) if terms else []


def match_expression(query: str) -> str | None:
    """The plain FTS5 MATCH string for ``query``: its phrases, quoted, OR-ed; None when it has no
    words. (What keyword search sends repeats the words, to weigh pairs: ``phrase_weight.py``.)"""
    phrases = query_phrases(query)
    # \w+ never contains a double quote, so quoting each term or pair is a complete escape.
    return " OR ".join(f'"{p}"' for p in phrases) if phrases else None


@dataclass(frozen=True)
class Filters:
    """Restrictions every retriever applies: publication date range and organisation slug."""

    date_from: date | datetime | None = None  # inclusive
    date_to: date | datetime | None = None  # exclusive
    organization: str | None = None

    def sql(self, alias: str = "p", dialect: str = "sqlite") -> tuple[str, dict]:
        """A SQL condition on papers ``alias`` (hidden papers always excluded) and its parameters,
        for the ``dialect`` of the session that runs it (times are bound as that backend stores them)."""
        clauses, params = [f"{alias}.hidden = :hidden"], {"hidden": False}
        if self.date_from is not None:
            clauses.append(f"{alias}.published_at >= :date_from")
            params["date_from"] = _bound_time(self.date_from, dialect)
        if self.date_to is not None:
            clauses.append(f"{alias}.published_at < :date_to")
            params["date_to"] = _bound_time(self.date_to, dialect)
        if self.organization:
            clauses.append(f"{alias}.organization_id = (SELECT id FROM organizations WHERE slug = :organization)")
            params["organization"] = self.organization
        return " AND ".join(clauses), params

    @property
    def active(self) -> bool:
        return self.date_from is not None or self.date_to is not None or bool(self.organization)


def keyword_search(session: Session, query: str, limit: int, filters: Filters = Filters()) -> list[tuple[int, float]]:
    """(paper id, BM25 score; higher is better) for the ``limit`` best keyword matches."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":  # the weighted tsvector of migration 0003; same terms, same OR semantics
        terms = query_terms(query)
        if not terms:
            return []
        condition, params = filters.sql(dialect=dialect)
        return keyword_search_postgres(session, terms, query_bigrams(query), COLUMN_WEIGHTS, condition, params, limit)
    phrases = query_phrases(query)
    if not phrases:
        return []
    condition, params = filters.sql()
    # The OR of the quoted phrases, with the work bounded at any corpus size (keyword_sqlite.py).
    return bounded_bm25(session, phrases, COLUMN_WEIGHTS, condition, params, limit, filters.active)


def _bound_time(value, dialect: str):
    """A filter time as ``dialect`` compares it: aware UTC on PostgreSQL (timestamptz), text on SQLite."""
    if dialect == "sqlite":
        return _naive_utc(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    raise TypeError(f"expected a date or datetime, got {value!r}")


def _naive_utc(value) -> str:
    """Times are stored as naive UTC text in SQLite (see orm.UTCDateTime); compare like with like."""
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    elif isinstance(value, date):
        value = datetime(value.year, value.month, value.day)
    else:
        raise TypeError(f"expected a date or datetime, got {value!r}")
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")
