"""Keyword candidates at a million papers in a few milliseconds: the impact index.

FTS5 scores about a posting per microsecond and its ``bm25()`` counts every posting of each
phrase for the idf, so at a million papers no FTS5 query over common words is fast. Above the
exact size, a derived file beside the database (``impact_build.py``) answers instead, with
numpy over memory-mapped arrays:

1. **Candidates.** Each word's postings are stored ordered by their BM25 contribution (its
   *impact*). A query reads the ``BUDGET`` highest impacts over all its words (one threshold,
   found by binary search: a rare word's postings all come before a common word's weak ones) and
   adds them up per paper in a dense per-thread array. Pairs play no part here.
2. **Exact scores.** The best ``EXACT_SCORED`` candidates get their full BM25 score (every word
   and adjacent pair, current idf and average length, as FTS5's ``bm25()``) from the file's
   forward index: each paper's tokens in order, so a pair is two neighbours. Hidden papers are
   dropped from the ranked list's head only (reading a paper's row costs more than scoring it),
   and a paper of the head whose column lengths no longer match FTS5's (changed since the
   build) is scored from its text instead (``fts5.rescore``).
3. **Fresh papers.** Papers added after the build (ids above the file's last one) are matched
   by FTS5 on rowid alone (no ``bm25()``: cheap), the newest ``FRESH_SCORED`` of them scored
   from their text. When more than ``REBUILD_FRACTION`` of the catalog is new, one process
   rebuilds the file in the background (a lock file); the others switch to the new file when
   it is renamed in.

What is approximate is which papers become candidates, never their scores. With no usable file
(missing, damaged, built for other columns or weights) ``CurrentImpactIndex.search`` returns
None and the caller takes the FTS5 path; a missing or stale file is then built in the background.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.search.filters import SqlFilter
import papertide.search.keyword.impact_build as impact_build
from papertide.search.keyword.fts5 import B, FTS_TABLE, K1, TABLE_SQL, Fts5Query, Phrase, column_lengths, idf, rescore
from papertide.search.keyword.fts5_budget import HIDDEN_MARGIN
from papertide.search.keyword.impact_build import SEPARATOR
from papertide.search.keyword.impact_file import ImpactFileError, open_arrays
from papertide.search.keyword.terms import phrase_weight
from papertide.search.trace import span

log = logging.getLogger(__name__)

BUDGET = 40_000  # postings (the highest impacts over all query words) a query reads at most
EXACT_SCORED = 200  # best candidates that get their full BM25 score
FILTER_CANDIDATES = 2_000  # candidates checked against a date/organisation filter
FRESH_SCORED = 100  # newest matching papers added since the build, scored from their text
BUILD_FROM_PAPERS = 100_000  # a missing file is built in the background from this many papers
REBUILD_FRACTION = 0.05  # ... and rebuilt when this fraction of papers is newer than the file
REBUILD_RETRY_SECONDS = 300.0  # a process asks for a build at most this often per file


class CurrentImpactIndex:
    """The impact index file of one database, as its keyword side uses it: reopened when the
    file is replaced, forgotten when it fails, built in the background (``build_missing``) when
    it is missing, unusable or too stale."""

    def __init__(self, path: Path, database_file: Path, *, build_missing: bool = True):
        self.path, self.database_file, self.build_missing = path, database_file, build_missing
        self._opened: tuple[tuple, ImpactIndex | None] | None = None  # (file signature, index or None if unusable)
        self._asked_at = -math.inf
        self._lock = threading.Lock()

    def search(self, session: Session, query: Fts5Query, where: SqlFilter, limit: int) -> list[tuple[int, float]] | None:
        """(paper id, BM25 score) of the best ``limit`` papers, or None when there is no usable
        file or too few of its candidates pass ``where`` (the caller then asks FTS5)."""
        newest = session.execute(text("SELECT max(id) FROM papers")).scalar() or 0
        index = self._current(session, query, newest)
        if index is None:
            return None
        try:
            with span("keyword.impact"):
                return index.search(session, query, where, limit, newest)
        except Exception:  # noqa: BLE001 - a damaged mapping must cost speed, never the search
            log.exception("the keyword impact index %s failed; using FTS5", self.path)
            self._opened = None
            return None

    def _current(self, session: Session, query: Fts5Query, newest: int) -> "ImpactIndex | None":
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._ask_for_build(query)
            return None
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        opened = self._opened
        if opened is None or opened[0] != signature:
            index, problem = ImpactIndex.open(session, self.path)
            self._opened = opened = (signature, index)
            if problem:
                log.warning("keyword impact index not used: %s", problem)
        index = opened[1]
        if index is None or index.weights != tuple(query.weights):
            self._ask_for_build(query)
            return None
        if index.stale(newest):
            self._ask_for_build(query)
        return index

    def _ask_for_build(self, query: Fts5Query) -> None:
        """Start a background build of the file (at most every ``REBUILD_RETRY_SECONDS``)."""
        if not self.build_missing or query.corpus.documents < BUILD_FROM_PAPERS:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._asked_at < REBUILD_RETRY_SECONDS:
                return
            self._asked_at = now
        impact_build.build_in_background(self.database_file, self.path, tuple(query.weights))


def needs_build(session: Session, path: Path, weights: tuple[float, ...]) -> bool:
    """Whether the impact index at ``path`` is missing, unusable for this database, or stale."""
    if not path.exists():
        return True
    index, _ = ImpactIndex.open(session, path)
    return index is None or index.weights != tuple(weights) or index.stale(session.execute(text("SELECT max(id) FROM papers")).scalar() or 0)


class ImpactIndex:
    """One impact index file, mapped read-only; shared by every thread of the process."""

    def __init__(self, path: Path, meta: dict, arrays: dict[str, np.ndarray]):
        arrays = {name: np.asarray(array) for name, array in arrays.items()}  # plain views: memmap slicing costs more
        self.path, self.meta = path, meta
        self.max_paper_id = int(meta["max_paper_id"])
        self.width = len(meta["columns"])
        self.weights = tuple(meta["weights"])
        self._terms = arrays["term_bytes"].tobytes()  # small; bisected for every query word
        self._term_starts = arrays["term_starts"]
        self._term_documents = arrays["term_documents"]
        self._posting_starts = arrays["posting_starts"]
        self._papers = arrays["posting_papers"]
        self._impacts = arrays["posting_impacts"]
        self._forward_starts = arrays["forward_starts"]
        self._forward = arrays["forward"]
        self._term_cache: dict[str, int | None] = {}
        self._accumulators = threading.local()
        if len(self._term_starts) != meta["terms"] + 1 or len(self._forward_starts) != self.max_paper_id + 2:
            raise ImpactFileError(f"{path}: array sizes disagree with its header")

    @classmethod
    def open(cls, session: Session, path: Path) -> tuple["ImpactIndex | None", str | None]:
        """The file at ``path`` mapped, or None and why it cannot be used for this database."""
        try:
            meta, arrays = open_arrays(path)
            if meta.get("format") != impact_build.FORMAT_VERSION:
                return None, f"{path} has format {meta.get('format')}, not {impact_build.FORMAT_VERSION}"
            if meta.get("tokenize") != session.execute(text(TABLE_SQL)).scalar():
                return None, f"{path} was built for another FTS5 table definition"
            return cls(path, meta, arrays), None
        except (ImpactFileError, KeyError, ValueError, TypeError) as error:
            return None, f"{path}: {error}"

    def stale(self, newest: int) -> bool:
        """More than ``REBUILD_FRACTION`` of the catalog is newer than the file (``newest``: the
        highest paper id now), or it covers papers the catalog no longer has (deleted, or another database)."""
        fresh = newest - self.max_paper_id
        return fresh > REBUILD_FRACTION * max(1, self.meta["documents"]) or fresh < 0

    def search(self, session: Session, query: Fts5Query, where: SqlFilter, limit: int, newest: int) -> list[tuple[int, float]] | None:
        """See the module doc; ``newest`` is the highest paper id now."""
        depth = max(EXACT_SCORED, limit)
        scoring = [ph for ph in query.phrases if ph.tokens]
        weights = [idf(query.stats.df(session, ph), query.corpus.documents) * phrase_weight(ph.text) for ph in scoring]
        terms = [self.phrase_ids(ph) for ph in scoring]
        words = [t[0] for t in terms if t is not None and len(t) == 1]  # (pairs: scored, not searched)
        ids, complete = self.candidates(words, BUDGET, FILTER_CANDIDATES if where.active else depth)
        if where.active:  # date/organisation: checked on many candidates first (hidden: on the results, below)
            ids = ids[np.isin(ids, list(_passing_ids(session, ids, where)))][:depth]
            if len(ids) < limit and not complete:
                return None  # too few candidates pass the filter: FTS5 applies it while matching
        scores, sizes = self.bm25(ids, terms, weights, query.corpus.average_length)
        found = dict(zip(ids.tolist(), scores.tolist()))
        stored = dict(zip(ids.tolist(), sizes.tolist()))
        fresh = self._fresh(session, query.phrases, where) if newest > self.max_paper_id else []
        if fresh:
            found.update(rescore(session, query, fresh, scoring))
        ranked = [(pid, score) for pid, score in sorted(found.items(), key=lambda item: (-item[1], item[0])) if score > 0]
        head, lengths = _visible_head(session, ranked, where, limit)
        # A paper whose column lengths differ from FTS5's changed since the build: scored from its text.
        changed = {pid for pid, _ in head if pid in stored and column_lengths(lengths[pid], self.width) != stored[pid]}
        if changed:
            rescored = rescore(session, query, sorted(changed), scoring)
            head = [(pid, rescored.get(pid, 0.0) if pid in changed else score) for pid, score in head]
            head = sorted((item for item in head if item[1] > 0), key=lambda item: (-item[1], item[0]))
        return head

    def term_id(self, token: str) -> int | None:
        """The file's id of an index token (binary search over the sorted terms, then cached)."""
        cached = self._term_cache.get(token, -1)
        if cached != -1:
            return cached
        key, starts, blob = token.encode(), self._term_starts, self._terms
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if blob[starts[mid] : starts[mid + 1]] < key:
                lo = mid + 1
            else:
                hi = mid
        found = lo if lo < len(starts) - 1 and blob[starts[lo] : starts[lo + 1]] == key else None
        if len(self._term_cache) > 100_000:
            self._term_cache.clear()
        self._term_cache[token] = found
        return found

    def phrase_ids(self, phrase: Phrase) -> list[int] | None:
        """The phrase's tokens as term ids; None if one is not in the file (no indexed paper has it)."""
        ids = [self.term_id(t) for t in phrase.tokens]
        return None if any(i is None for i in ids) else ids

    def candidates(self, terms: list[int], budget: int, count: int) -> tuple[np.ndarray, bool]:
        """The ``count`` papers with the highest sum of the ``budget`` highest impacts of ``terms``,
        best first, and whether that read every posting of every term (nothing was cut)."""
        terms = list(dict.fromkeys(terms))
        ranges = [(int(self._posting_starts[t]), int(self._posting_starts[t + 1])) for t in terms]
        if not ranges:
            return np.zeros(0, np.int64), True
        total = sum(end - start for start, end in ranges)
        # Nothing cut: every posting of every word read, and no word's list truncated at build.
        complete = total <= budget and all(int(self._term_documents[t]) == end - start for t, (start, end) in zip(terms, ranges))
        if total > budget:
            ranges = self._best(ranges, budget)
        papers = np.concatenate([self._papers[start:end] for start, end in ranges]).astype(np.intp)
        impacts = np.concatenate([self._impacts[start:end] for start, end in ranges])
        sums = self._scratch()
        np.add.at(sums, papers, impacts)
        totals = sums[papers]
        positions = np.arange(len(papers), dtype=np.float32)  # (exact below 2**24; the budget is far below)
        sums[papers] = positions  # each paper once: where it was seen last
        once = sums[papers] == positions
        sums[papers] = 0
        papers, totals = papers[once], totals[once]
        if len(papers) > count:
            best = np.argpartition(-totals, count - 1)[:count]
            papers, totals = papers[best], totals[best]
        return papers[np.argsort(-totals, kind="stable")].astype(np.int64), complete

    def bm25(self, ids: np.ndarray, phrases: list[list[int] | None], idf: list[float], average: float) -> tuple[np.ndarray, np.ndarray]:
        """Full BM25 of each paper of ``ids`` for ``phrases`` (term ids; None: absent), and the
        papers' tokens per column (all zero for a paper the file does not hold), from the forward index."""
        ids = np.asarray(ids, dtype=np.int64)
        scores, sizes = np.zeros(len(ids)), np.zeros((len(ids), self.width), np.int64)
        held = np.flatnonzero(ids <= self.max_paper_id)
        held = held[self._forward_starts[ids[held] + 1] > self._forward_starts[ids[held]]]
        if not len(held):
            return scores, sizes
        starts, ends = self._forward_starts[ids[held]], self._forward_starts[ids[held] + 1]
        tokens = np.concatenate([self._forward[a:b] for a, b in zip(starts.tolist(), ends.tolist())])
        offsets = np.zeros(len(held) + 1, np.int64)
        np.cumsum(ends - starts, out=offsets[1:])
        # Each paper holds width - 1 separators: they give its column lengths and each token's column.
        separators = np.flatnonzero(tokens == SEPARATOR).reshape(len(held), self.width - 1)
        bounds = np.c_[offsets[:-1] - 1, separators, offsets[1:]]
        sizes[held] = np.diff(bounds, axis=1) - 1
        norm = K1 * (1 - B + B * sizes[held].sum(axis=1) / average)
        # The positions of query tokens (a table lookup per token), then phrases among those only.
        wanted = sorted({t for phrase in phrases if phrase for t in phrase})
        if not wanted:
            return scores, sizes
        table = self._slot_table()
        table[wanted] = np.arange(len(wanted))
        try:
            slot = table[np.minimum(tokens, len(table) - 1)]
        finally:
            table[wanted] = -1
        at = np.flatnonzero(slot >= 0)
        owner = np.searchsorted(offsets, at, side="right") - 1
        column = (at[:, None] > separators[owner]).sum(axis=1)
        where = {t: i for i, t in enumerate(wanted)}
        weights = np.asarray(self.weights)
        slot_at = slot[at]
        for phrase, value in zip(phrases, idf):
            if phrase is None:
                continue
            hit = slot_at == where[phrase[0]]
            for j, token in enumerate(phrase[1:], 1):  # the next tokens follow in the same column
                following = np.minimum(at + j, len(tokens) - 1)
                hit &= (slot[following] == where[token]) & (at + j < offsets[owner + 1])
            if not hit.any():
                continue
            frequency = np.bincount(owner[hit], weights=weights[column[hit]], minlength=len(held))
            scores[held] += value * frequency * (K1 + 1) / (frequency + norm)
        return scores, sizes

    def _slot_table(self) -> np.ndarray:
        """Per thread: term id -> rank among the query's tokens (-1 elsewhere; the last entry,
        where separators land, always -1)."""
        table = getattr(self._accumulators, "slots", None)
        if table is None:
            table = self._accumulators.slots = np.full(self.meta["terms"] + 1, -1, np.int32)
        return table

    def _best(self, ranges: list[tuple[int, int]], budget: int) -> list[tuple[int, int]]:
        """The tail of each range (postings ascend by impact) at or above one threshold, chosen so
        that about ``budget`` postings are read in all."""
        lists = [self._impacts[start:end] for start, end in ranges]
        low, high = 0.0, float(max(float(values[-1]) for values in lists if len(values)))
        cut = [0] * len(lists)
        for _ in range(12):
            middle = np.float32((low + high) / 2)
            counts = [int(np.searchsorted(values, middle, side="left")) for values in lists]
            if sum(len(values) - c for values, c in zip(lists, counts)) > budget:
                low = float(middle)
            else:
                high, cut = float(middle), counts
        return [(start + c, end) for (start, end), c in zip(ranges, cut)]

    def _scratch(self) -> np.ndarray:
        """Per thread, one float per paper id, all zero between queries (score sums, then where
        each paper was seen last)."""
        scratch = getattr(self._accumulators, "scratch", None)
        if scratch is None:
            scratch = self._accumulators.scratch = np.zeros(self.max_paper_id + 1, np.float32)
        return scratch

    def _fresh(self, session: Session, phrases: list[Phrase], where: SqlFilter) -> list[int]:
        """The newest papers added since the build that match any phrase (FTS5, rowid order only;
        hidden ones are dropped with the others at the end)."""
        match = " OR ".join(f'"{ph.text}"' for ph in phrases)
        if where.active:
            sql = (f"SELECT {FTS_TABLE}.rowid FROM {FTS_TABLE} JOIN papers AS p ON p.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH :match "
                   f"AND {FTS_TABLE}.rowid > :built AND {where.condition} ORDER BY {FTS_TABLE}.rowid DESC LIMIT :limit")
        else:
            sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :match AND rowid > :built ORDER BY rowid DESC LIMIT :limit"
        params = {"match": match, "built": self.max_paper_id, "limit": FRESH_SCORED, **where.params}
        return [int(i) for i in session.execute(text(sql), params).scalars()]


def _passing_ids(session: Session, ids: np.ndarray, where: SqlFilter) -> set[int]:
    """The papers of ``ids`` that exist and pass ``where`` (the JSON list is one bound value,
    so the statement is prepared once whatever the number of ids)."""
    if not len(ids):
        return set()
    statement = text(f"SELECT p.id FROM papers AS p WHERE p.id IN (SELECT value FROM json_each(:ids)) AND {where.condition}")
    return set(session.execute(statement, {"ids": json.dumps(ids.tolist()), **where.params}).scalars())


def _visible_head(session: Session, ranked: list[tuple[int, float]], where: SqlFilter, limit: int):
    """The first ``limit`` of ``ranked`` that exist and pass ``where`` (hidden papers), with
    FTS5's column-length record of each; checked a few more than needed at a time: reading a
    paper's row costs more than scoring it, so it is done for the results only."""
    kept, lengths, at = [], {}, 0
    while len(kept) < limit and at < len(ranked):
        chunk = ranked[at : at + limit - len(kept) + HIDDEN_MARGIN]
        at += len(chunk)
        statement = text(
            f"SELECT p.id, d.sz FROM papers AS p JOIN {FTS_TABLE}_docsize AS d ON d.id = p.id "
            f"WHERE p.id IN (SELECT value FROM json_each(:ids)) AND {where.condition}"
        )
        lengths.update(session.execute(statement, {"ids": json.dumps([pid for pid, _ in chunk]), **where.params}).all())
        kept.extend(item for item in chunk if item[0] in lengths)
    return kept[:limit], lengths
