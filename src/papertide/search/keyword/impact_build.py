"""Building the impact index of a SQLite catalog from its own FTS5 index (see ``impact.py``).

Everything is read from FTS5 itself, so the derived file agrees with the index of record token
for token: ``fts5vocab(..., 'instance')`` lists every (term, paper, column, offset) in term
order, and ``papers_fts_docsize`` every paper's column lengths. One pass over the instances
fills two structures:

* **impact-ordered postings**: per term, the papers that contain it with their BM25
  contribution (k1, b, column weights, idf and document length exactly as FTS5's ``bm25()``
  computes them now); for frequent terms only the ``depth`` best, since a paper that ranks
  below the 10,000th for "model" is found through its other words or not at all;
* a **forward index**: each paper's token ids in order, columns separated by ``SEPARATOR``,
  from which any candidate's full BM25 score (pairs included) is computed without its text.

The pass runs in one read transaction (a consistent snapshot; WAL lets ingest go on), with a
progress bar. The file is written beside the database under a temporary name and renamed in,
so a killed build leaves the previous file in place; one process builds at a time (a lock file).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm import tqdm

from papertide.search.keyword.fts5 import AVERAGES_SQL, B, FTS_TABLE, K1, TABLE_SQL, column_lengths, decode_averages, idf
from papertide.search.keyword.impact_file import write_arrays

log = logging.getLogger(__name__)

FORMAT_VERSION = 2
IMPACT_DEPTH = 10_000  # postings kept per term (the best by impact); its recall: research log, "Keyword side at scale"
SEPARATOR = np.uint32(0xFFFF_FFFF)  # between two columns of a paper in the forward index
_OFFSET_BITS, _COLUMN_BITS = 20, 2  # an instance packed in SQL as paper << 22 | column << 20 | offset


class ImpactBuildBusy(RuntimeError):
    """Another process is building the file right now."""


@dataclass
class BuildSummary:
    papers: int
    terms: int
    postings: int
    tokens: int
    seconds: float
    bytes: int

    def line(self) -> str:
        return (f"keyword impact index: {self.papers:,} papers, {self.terms:,} terms, {self.postings:,} postings, "
                f"{self.bytes / 2**20:,.0f} MB, built in {self.seconds:.0f} s")


def build_impact_index(
    database_path: Path, path: Path, weights: tuple[float, ...], *, depth: int = IMPACT_DEPTH,
    progress: bool = True, wait: bool = True,
) -> BuildSummary:
    """Build the impact index of ``database_path`` into ``path`` (atomically replacing it).

    With ``wait`` False, raise ``ImpactBuildBusy`` at once if another process is building it.
    """
    started = time.perf_counter()
    with _build_lock(path, wait):
        for leftover in path.parent.glob(f".{path.name}.*.tmp"):  # from a build that was killed
            leftover.unlink(missing_ok=True)
        connection = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        try:
            meta, arrays = _read_index(connection, weights, depth, progress)
        finally:
            connection.close()
        write_arrays(path, meta, arrays)
    return BuildSummary(meta["documents"], meta["terms"], meta["postings"], meta["tokens"],
                        time.perf_counter() - started, path.stat().st_size)


def _read_index(connection: sqlite3.Connection, weights: tuple[float, ...], depth: int, progress: bool) -> tuple[dict, dict]:
    columns = [row[1] for row in connection.execute(f"PRAGMA table_info({FTS_TABLE})")]
    if len(weights) != len(columns) or len(columns) > 1 << _COLUMN_BITS:
        raise ValueError(f"{len(weights)} column weights for the {len(columns)} columns of {FTS_TABLE}")
    connection.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.impact_instances USING fts5vocab(main, {FTS_TABLE}, 'instance')")
    connection.execute("BEGIN")  # one snapshot for the statistics, the lengths and the postings
    try:
        documents, tokens = decode_averages((connection.execute(AVERAGES_SQL).fetchone() or (None,))[0])
        ids, sizes = _document_sizes(connection, len(columns))
        return _scan(connection, columns, weights, depth, progress, documents, tokens, ids, sizes)
    finally:
        connection.execute("COMMIT")


def _scan(connection, columns, weights, depth, progress, documents, tokens, ids, sizes) -> tuple[dict, dict]:
    max_id = int(ids[-1]) if len(ids) else 0
    width = len(columns)
    lengths = np.zeros(max_id + 1, dtype=np.int64)  # tokens of each paper (all columns), by paper id
    lengths[ids] = sizes.sum(axis=1)
    span = np.zeros(max_id + 1, dtype=np.int64)  # forward-index entries: tokens plus column separators
    span[ids] = lengths[ids] + width - 1
    forward_starts = np.zeros(max_id + 2, dtype=np.int64)
    np.cumsum(span, out=forward_starts[1:])
    column_starts = np.zeros((max_id + 1, width), dtype=np.int64)  # where each column of a paper begins
    column_starts[ids] = forward_starts[ids, None] + np.cumsum(np.c_[np.zeros(len(ids), np.int64), sizes[:, :-1] + 1], axis=1)
    forward = np.full(int(forward_starts[-1]), SEPARATOR, dtype=np.uint32)
    weight_of = np.asarray(weights, dtype=np.float64)
    average = tokens / documents if documents else 1.0
    norm = K1 * (1 - B + B * lengths / average)

    terms, term_ids_seen = [], 0
    docs_parts, impact_parts, frequencies = [], [], []
    case = " ".join(f"WHEN '{name}' THEN {i << _OFFSET_BITS}" for i, name in enumerate(columns))
    packed = f"doc * {1 << (_OFFSET_BITS + _COLUMN_BITS)} + (CASE col {case} END) + \"offset\""
    rows = connection.execute(f"SELECT term, group_concat({packed}, ' ') FROM temp.impact_instances GROUP BY term")
    previous = b""
    with tqdm(total=tokens, desc="keyword impact index", unit=" tokens", unit_scale=True, disable=not progress, leave=False) as bar:
        for term, instances in rows:
            encoded = term.encode()
            if encoded <= previous:
                raise RuntimeError(f"fts5vocab returned {term!r} out of order; the impact index needs sorted terms")
            previous = encoded
            codes = np.fromstring(instances, dtype=np.int64, sep=" ")
            doc = codes >> (_OFFSET_BITS + _COLUMN_BITS)
            column = (codes >> _OFFSET_BITS) & ((1 << _COLUMN_BITS) - 1)
            offset = codes & ((1 << _OFFSET_BITS) - 1)
            forward[column_starts[doc, column] + offset] = term_ids_seen
            first = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])  # instances come sorted by paper
            papers = doc[first]
            frequency = np.add.reduceat(weight_of[column], first)
            df = len(papers)
            impact = idf(df, documents) * frequency * (K1 + 1) / (frequency + norm[papers])
            if df > depth:
                best = np.argpartition(-impact, depth - 1)[:depth]
                papers, impact = papers[best], impact[best]
            order = np.argsort(impact, kind="stable")  # ascending: a term's best postings are its last
            docs_parts.append(papers[order].astype(np.uint32))
            impact_parts.append(impact[order].astype(np.float32))
            frequencies.append(df)
            terms.append(encoded)
            term_ids_seen += 1
            bar.update(len(codes))
    term_starts = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in terms], out=term_starts[1:])
    posting_starts = np.zeros(len(terms) + 1, dtype=np.int64)
    np.cumsum([len(d) for d in docs_parts], out=posting_starts[1:])
    arrays = {
        "term_bytes": np.frombuffer(b"".join(terms), dtype=np.uint8),
        "term_starts": term_starts,
        "term_documents": np.asarray(frequencies, dtype=np.int64),
        "posting_starts": posting_starts,
        "posting_papers": np.concatenate(docs_parts) if docs_parts else np.zeros(0, np.uint32),
        "posting_impacts": np.concatenate(impact_parts) if impact_parts else np.zeros(0, np.float32),
        "forward_starts": forward_starts,
        "forward": forward,
    }
    meta = {
        "format": FORMAT_VERSION, "built_at": datetime.now(timezone.utc).isoformat(), "max_paper_id": max_id,
        "documents": int(documents), "tokens": int(tokens), "columns": columns, "weights": list(weights),
        "k1": K1, "b": B, "depth": depth, "terms": len(terms), "postings": int(posting_starts[-1]),
        "tokenize": connection.execute(TABLE_SQL).fetchone()[0],
    }
    return meta, arrays


def _document_sizes(connection, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(paper ids ascending, tokens per column of each) from ``papers_fts_docsize``."""
    ids, sizes = [], []
    for paper_id, blob in connection.execute(f"SELECT id, sz FROM {FTS_TABLE}_docsize ORDER BY id"):
        ids.append(paper_id)
        sizes.append(column_lengths(blob, width))
    return np.asarray(ids, dtype=np.int64), np.asarray(sizes, dtype=np.int64).reshape(len(ids), width)


@contextmanager
def _build_lock(path: Path, wait: bool):
    """One builder per file across processes (flock on ``<file>.lock``, released if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as error:
            raise ImpactBuildBusy(f"{path} is being built by another process") from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# -- building in the background ----------------------------------------------------------------

_background: dict[Path, threading.Thread] = {}
_background_lock = threading.Lock()


def build_in_background(database_path: Path, path: Path, weights: tuple[float, ...]) -> bool:
    """Start a build on a daemon thread unless this process is already building ``path``."""
    with _background_lock:
        running = _background.get(path)
        if running is not None and running.is_alive():
            return False
        thread = threading.Thread(target=_build_quietly, args=(database_path, path, weights), name="papertide-impact", daemon=True)
        _background[path] = thread
        thread.start()
        return True


def wait_for_background_builds(timeout: float | None = None) -> None:
    """Block until the builds this process started have finished (tests, command-line tools)."""
    for thread in list(_background.values()):
        thread.join(timeout)


def _build_quietly(database_path: Path, path: Path, weights: tuple[float, ...]) -> None:
    try:
        summary = build_impact_index(database_path, path, weights, progress=False, wait=False)
        log.info("%s", summary.line())
    except ImpactBuildBusy:
        pass  # another process builds it; this one picks the new file up when it is renamed in
    except Exception:  # noqa: BLE001 - search goes on with the old file or the FTS5 path
        log.exception("building the keyword impact index %s failed", path)
