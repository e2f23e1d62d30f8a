"""Document frequencies for BM25 on PostgreSQL: ``search_term_stats`` (migration 0004), kept fresh.

BM25's idf needs, for each query lexeme, the number of papers that contain it, and its length
normalisation needs the corpus's average document length. A GIN index answers "which papers
contain it" but counting them means reading every posting, so the counts are computed ahead of
time with ``ts_stat`` over ``papers.search_document`` and stored per lexeme, with the corpus
totals in ``search_corpus_stats``.

When they are refreshed:

* ``refresh(engine)`` recomputes them (``papertide index`` calls it after embedding);
* the first search on a database that has none (or counted no papers) computes them first;
* a search that finds papers newer than the statistics (a higher ``papers.id``, one index
  lookup) starts a refresh in a background thread and answers with the statistics it has.
  A refresh runs at most once per ``MIN_REFRESH_INTERVAL`` and per ten times its own last
  duration (``REFRESH_SHARE``), so a stream of ingests costs at most ~10% of one core; across
  web workers only one refreshes at a time (an advisory lock; the others skip).

Between refreshes, a lexeme the statistics do not know (a word new to the catalog) is counted
live through the GIN index (new words are rare, so this is cheap): new papers are findable at
once, and only the idf of words that existed before drifts until the next refresh. Votes and
comments do not touch the text, so they never make the statistics stale.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

MIN_REFRESH_INTERVAL = 60.0  # seconds between two refreshes of one database, at least
REFRESH_SHARE = 0.1  # ... and at least 1 / REFRESH_SHARE times as long as the last refresh took
_LOCK_KEY = 0x7074_5374  # pg_try_advisory_xact_lock key: "ptSt"

_REFRESH = [
    "DELETE FROM search_term_stats",
    # ts_stat reads every paper's tsvector once: ndoc = papers holding the lexeme.
    """WITH lexemes AS MATERIALIZED (SELECT word, ndoc, nentry FROM ts_stat('SELECT search_document FROM papers')),
            stored AS (INSERT INTO search_term_stats (lexeme, documents) SELECT word, ndoc FROM lexemes)
       INSERT INTO search_corpus_stats (id, documents, entries, max_paper_id, refreshed_at, refresh_seconds)
       SELECT 1, (SELECT count(*) FROM papers), coalesce((SELECT sum(ndoc) FROM lexemes), 0),
              coalesce((SELECT max(id) FROM papers), 0), now(), 0
       ON CONFLICT (id) DO UPDATE SET documents = excluded.documents, entries = excluded.entries,
           max_paper_id = excluded.max_paper_id, refreshed_at = excluded.refreshed_at""",
]


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 needs beyond one paper: how many papers, and their average length.

    A paper's length is its number of distinct lexemes (``length(tsvector)``, free to read),
    not of tokens: counting positions means unnesting the whole tsvector of every paper.
    """

    documents: int
    average_length: float
    max_paper_id: int
    refresh_seconds: float
    age_seconds: float

    @classmethod
    def from_row(cls, row) -> "CorpusStats | None":
        """From the columns of ``CORPUS_COLUMNS``; None when they are NULL (never computed)."""
        documents, entries, max_paper_id, seconds, age = row
        if documents is None:
            return None
        average = (entries / documents) if documents else 1.0
        return cls(int(documents), float(average), int(max_paper_id), float(seconds), float(age))


def refresh(engine: Engine, *, wait: bool = True) -> bool:
    """Recompute the statistics in one transaction (searches meanwhile use the previous ones).

    Returns False without doing anything if another process is refreshing them right now and
    ``wait`` is False; with ``wait`` it queues behind that one and then refreshes.
    """
    started = time.perf_counter()
    with engine.begin() as connection:
        if wait:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        elif not connection.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}):
            return False
        for statement in _REFRESH:
            connection.execute(text(statement))
        connection.execute(text("UPDATE search_corpus_stats SET refresh_seconds = :s"), {"s": time.perf_counter() - started})
    log.info("search term statistics refreshed in %.1f s", time.perf_counter() - started)
    return True


def refresh_if_postgres(engine: Engine) -> bool:
    """``refresh`` on PostgreSQL; False on SQLite, whose FTS5 index keeps its own statistics."""
    return engine.dialect.name == "postgresql" and refresh(engine)


# What a search reads in its own first statement (``keyword_postgres.look_up``), so that the
# totals, the newest paper and the query's frequencies cost one round trip: the columns of
# ``CorpusStats.from_row`` (all NULL when there are no statistics yet) ...
CORPUS_COLUMNS = (
    "c.documents, c.entries, c.max_paper_id, c.refresh_seconds, extract(epoch FROM now() - c.refreshed_at)"
)
CORPUS_FROM = "(SELECT 1) AS one LEFT JOIN search_corpus_stats AS c ON c.id = 1"
# ... and papers holding ``l.lexeme``: stored, or counted live through GIN for a lexeme new since
# the refresh (new words are rare, so this is cheap), joined as ``LEFT JOIN search_term_stats AS s``.
# (The operand is quoted as ``keyword_postgres.tsquery_operand`` does: ``quote_literal`` would
# write a backslash as E'..', which tsquery reads as part of the lexeme.)
DOCUMENTS_OF_LEXEME = (
    "coalesce(s.documents, (SELECT count(*) FROM papers AS p WHERE p.search_document @@ "
    r"CAST('''' || replace(replace(l.lexeme, '\', '\\'), '''', '''''') || '''' AS tsquery)))"
)


def keep_fresh(session: Session, stats: CorpusStats | None, newest: int) -> CorpusStats | None:
    """``stats`` as read, computed first if there are none (or none of the papers there are now:
    returns the new ones), refreshed in the background if papers were added since (``newest`` is
    the highest paper id now)."""
    if stats is None or (stats.documents == 0 and newest):
        refresh(_engine(session))
        return _read(session)
    if newest != stats.max_paper_id and stats.age_seconds >= max(MIN_REFRESH_INTERVAL, stats.refresh_seconds / REFRESH_SHARE):
        _refresh_in_background(_engine(session))
    return stats


def wait_for_background_refresh(timeout: float | None = None) -> None:
    """Block until a refresh started by ``keep_fresh`` has finished (tests, command-line tools)."""
    thread = _background
    if thread is not None:
        thread.join(timeout)


# -- internals ---------------------------------------------------------------------------------

_background: threading.Thread | None = None
_background_lock = threading.Lock()


def _refresh_in_background(engine: Engine) -> None:
    global _background
    with _background_lock:
        if _background is not None and _background.is_alive():
            return
        _background = threading.Thread(target=_refresh_quietly, args=(engine,), name="papertide-term-stats", daemon=True)
        _background.start()


def _refresh_quietly(engine: Engine) -> None:
    try:
        refresh(engine, wait=False)
    except Exception:  # noqa: BLE001 - stale statistics are still good statistics; search goes on
        log.exception("refreshing the search term statistics failed")


def _read(session: Session) -> CorpusStats | None:
    return CorpusStats.from_row(session.execute(text(f"SELECT {CORPUS_COLUMNS} FROM {CORPUS_FROM}")).one())


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
