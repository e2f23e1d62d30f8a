"""The HNSW graph on disk: updated in place of rebuilt, by one process at a time, shared by all.

A catalog of a million papers takes many CPU-minutes to index from scratch, so the graph is kept
beside the SQLite file and only brought up to date: papers that gained a vector are added, papers
that lost theirs are removed, and a vector that changed (re-embedded text) is removed and added
again. What the graph holds is kept with it, as one *generation* of four files:

    <cache>.<n>.graph        the usearch index
    <cache>.<n>.ids.npy      the paper ids it holds, sorted
    <cache>.<n>.stamps.npy   what each vector was made from (the paper's text hash), in that order
    <cache>.<n>.vectors.npy  their float16 vectors, in that order (for exact rescoring)

The stamps say what changed without reading a vector: a worker that opens an up-to-date graph
compares ids and stamps (seconds at a million papers) instead of reading every vector (ten times
as long, and most of a gigabyte), and an update reads only the vectors it adds.

``<cache>.json`` names the current generation. It is written last and renamed into place, so a
reader sees either the old generation or the new one, never half of one, and a crash or kill
during an update leaves the old generation in force (and stray files that the next update deletes).

Between processes (``papertide serve --workers N``, ``papertide index``), an exclusive lock on
``<cache>.lock`` lets one process update while the others keep serving the generation they have;
they open the new one when it appears. Readers memory-map all three files (usearch ``view``,
numpy ``mmap_mode``), so N workers share one copy of the graph and of the vectors in the page cache.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import logging
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 3  # of the manifest; older graphs (2: no stamps; 1: a single file) are rebuilt once
# The graph's settings, chosen at a million papers for recall@10 against CPU (research log, "HNSW graph settings").
CONNECTIVITY = 32  # M: neighbours per node
EXPANSION_ADD = 256  # ef while inserting: better neighbours give more recall at every search ef
EXPANSION_SEARCH = 320  # ef while searching: recall@10 >= 0.95 at 1M
REBUILD_FRACTION = 0.25  # removing more than this share of the graph rebuilds it instead
COPY_BLOCK = 65_536  # rows carried over from the previous generation at a time (bounded memory)
STAMP = "S32"  # a stamp: 32 ASCII bytes (the hex of a 128-bit hash)


@dataclass
class GraphUpdate:
    """What opening the graph did: ``added``/``removed`` vectors (a changed vector counts in both),
    ``rebuilt`` from scratch, or ``stale``: another process is updating it, the old one is served."""

    added: int = 0
    removed: int = 0
    rebuilt: bool = False
    stale: bool = False
    generation: int = 0


class Graph:
    """An HNSW index with the ids (sorted), stamps and float16 vectors it holds."""

    def __init__(self, index, ids: np.ndarray, stamps: np.ndarray, vectors: np.ndarray, generation: int = 0):
        self.index = index
        self.ids = ids
        self.stamps = stamps
        self.vectors = vectors
        self.generation = generation
        index.expansion_search = EXPANSION_SEARCH  # not stored in the file (nor is expansion_add: _restore)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        matches = self.index.search(query, k)
        return [(int(key), 1.0 - float(distance)) for key, distance in zip(matches.keys, matches.distances)]


VectorsOf = Callable[[np.ndarray], np.ndarray]


class VectorsChanged(Exception):
    """``vectors_of`` could not find a vector it was asked for (deleted since the ids were read)."""


def vector_stamps(vectors: np.ndarray) -> np.ndarray:
    """Stamps for vectors that come without a text hash (tests, benchmarks): a hash of each row."""
    rows = np.ascontiguousarray(vectors, dtype="<f2")
    return np.array([hashlib.blake2b(row.tobytes(), digest_size=16).hexdigest() for row in rows], dtype=STAMP)


def rows_reader(ids: np.ndarray, vectors: np.ndarray) -> VectorsOf:
    """``vectors_of`` for vectors already in memory (``ids`` sorted)."""
    return lambda wanted: vectors[np.searchsorted(ids, wanted)]


@functools.cache
def scalar_kind() -> str:
    """How the graph stores its own copy of the vectors: bfloat16 where usearch has a SIMD kernel
    for it (AVX512-BF16, "genoa": faster at the same recall), else float16; int8 lost recall. A
    graph saved with the other kind is rebuilt."""
    from usearch.index import Index

    accelerated = Index(ndim=8, metric="cos", dtype="bf16").hardware_acceleration
    return "bf16" if accelerated and accelerated != "serial" else "f16"


def open_graph(
    cache: Path | None,
    ids: np.ndarray,
    stamps: np.ndarray,
    vectors_of: VectorsOf,
    *,
    wait: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Graph, GraphUpdate]:
    """The graph of ``ids`` (sorted), from ``cache`` when it is there, updated with what changed.
    Without ``cache`` it is built in memory.

    ``stamps[i]`` names the version of paper ``ids[i]``'s vector (its text hash): a paper whose
    stamp differs from the graph's was re-embedded. ``vectors_of(some_ids)`` returns the float16
    vectors of those ids, in order; it is called only for the vectors the graph lacks (all of
    them for a build), so opening an up-to-date graph reads no vector. It may raise
    ``VectorsChanged``; nothing is written then.

    When another process is updating the cached graph, ``wait`` blocks until it is done and opens
    the new one; otherwise the current one is returned at once (``GraphUpdate.stale``). With no
    usable graph on disk at all there is nothing to serve, so that case always waits.
    ``progress(done, total)`` is called while vectors are added."""
    stamps = np.asarray(stamps, dtype=STAMP)
    if cache is None:
        graph = _build(ids, stamps, vectors_of(ids), progress)
        return graph, GraphUpdate(added=len(ids), rebuilt=True)
    files = GraphFiles(cache)
    current = files.read()
    if current is not None and _same(current, ids, stamps):
        return current, GraphUpdate(generation=current.generation)
    try:
        return _update_on_disk(files, current, ids, stamps, vectors_of, wait, progress)
    except OSError as error:  # no lock file possible (read-only directory, full disk): serve from memory
        log.warning("vector graph %s cannot be kept on disk (%s); building it in memory", cache, error)
        return open_graph(None, ids, stamps, vectors_of, progress=progress)


def _update_on_disk(files: "GraphFiles", current: Graph | None, ids, stamps, vectors_of, wait: bool, progress) -> tuple[Graph, GraphUpdate]:
    """Under the lock: bring the cached graph up to date (or find that another process did)."""
    with files.locked(block=wait or current is None) as acquired:
        if not acquired:
            log.info("vector graph %s is being updated by another process; serving generation %d", files.cache, current.generation)
            return current, GraphUpdate(stale=True, generation=current.generation)
        current = files.read()  # the process that held the lock may have done the work
        if current is not None and _same(current, ids, stamps):
            return current, GraphUpdate(generation=current.generation)
        graph, update = _updated(files, current, ids, stamps, vectors_of, progress)
        try:
            files.commit(graph)
        except OSError as error:
            log.warning("vector graph %s could not be saved (%s); serving it from memory", files.cache, error)
            return graph, update
    opened = files.read()
    if opened is None:  # only if the disk fails between writing and reading: serve what was built
        return graph, update
    update.generation = opened.generation
    return opened, update


def generation(cache: Path | None) -> int | None:
    """The current generation of the graph cached at ``cache`` (a file read): a running service
    compares it to the one it serves, to load what another process wrote."""
    manifest = GraphFiles(cache).current() if cache else None
    return int(manifest["generation"]) if manifest else None


def _same(graph: Graph, ids: np.ndarray, stamps: np.ndarray) -> bool:
    return np.array_equal(graph.ids, ids) and np.array_equal(graph.stamps, stamps)


def _updated(files: "GraphFiles", current: Graph | None, ids, stamps, vectors_of: VectorsOf, progress) -> tuple[Graph, GraphUpdate]:
    """``current`` brought up to ``ids``/``stamps`` (a writable copy), or a new graph."""
    if current is None:
        return _build(ids, stamps, vectors_of(ids), progress), GraphUpdate(added=len(ids), rebuilt=True)
    gone = np.setdiff1d(current.ids, ids, assume_unique=True)
    new = np.setdiff1d(ids, current.ids, assume_unique=True)
    both, old_rows, new_rows = np.intersect1d(current.ids, ids, assume_unique=True, return_indices=True)
    unchanged = current.stamps[old_rows] == stamps[new_rows]
    changed = both[~unchanged]
    removals = np.concatenate([gone, changed])
    if len(removals) > REBUILD_FRACTION * len(current.ids):
        return _build(ids, stamps, vectors_of(ids), progress), GraphUpdate(added=len(ids), rebuilt=True)
    additions = np.sort(np.concatenate([new, changed]))
    added_vectors = vectors_of(additions)  # before anything changes: it may raise VectorsChanged
    index = files.load_writable()
    if index is None:
        return _build(ids, stamps, vectors_of(ids), progress), GraphUpdate(added=len(ids), rebuilt=True)
    if len(removals):
        index.remove(removals.astype(np.uint64))
    if len(additions):
        _add(index, additions, added_vectors, progress)
    vectors = np.empty((len(ids), current.vectors.shape[1]), dtype=np.float16)
    kept_old, kept_new = old_rows[unchanged], new_rows[unchanged]
    for start in range(0, len(kept_old), COPY_BLOCK):
        vectors[kept_new[start : start + COPY_BLOCK]] = current.vectors[kept_old[start : start + COPY_BLOCK]]
    vectors[np.searchsorted(ids, additions)] = added_vectors
    log.info("vector graph updated: %d added, %d removed (%d of them changed)", len(additions), len(removals), len(changed))
    return Graph(index, ids, stamps, vectors), GraphUpdate(added=len(additions), removed=len(removals))


def build_settings() -> dict:
    """What a graph is built with, as usearch's ``Index`` arguments. The manifest records them,
    and a graph built otherwise is rebuilt once, so a new default applies to graphs saved before it."""
    return {"connectivity": CONNECTIVITY, "expansion_add": EXPANSION_ADD, "dtype": scalar_kind()}


def _build(ids: np.ndarray, stamps: np.ndarray, vectors: np.ndarray, progress) -> Graph:
    from usearch.index import Index

    index = Index(ndim=vectors.shape[1], metric="cos", expansion_search=EXPANSION_SEARCH, **build_settings())
    _add(index, ids, vectors, progress)
    return Graph(index, ids, stamps, vectors)


def _add(index, ids: np.ndarray, vectors: np.ndarray, progress) -> None:
    """Add in blocks (all cores), so that a progress bar can follow a build of minutes."""
    block = 20_000
    for start in range(0, len(ids), block):
        index.add(ids[start : start + block].astype(np.uint64), np.ascontiguousarray(vectors[start : start + block]))
        if progress:
            progress(min(start + block, len(ids)), len(ids))


def _restore(path: Path, view: bool):
    """A saved graph (``view``: memory-mapped, read-only) with the settings its file does not keep:
    usearch would insert with its own default ef otherwise (128), not ``EXPANSION_ADD``."""
    from usearch.index import Index

    index = Index.restore(str(path), view=view)
    if index is not None:
        index.expansion_add = EXPANSION_ADD
    return index


class GraphFiles:
    """The files of one cached graph: generations, the manifest naming the current one, the lock."""

    def __init__(self, cache: Path):
        self.cache = Path(cache)
        self.manifest = self.cache.with_name(self.cache.name + ".json")
        self.lock = self.cache.with_name(self.cache.name + ".lock")

    def path(self, generation: int, part: str) -> Path:
        return self.cache.with_name(f"{self.cache.name}.{generation}.{part}")

    def current(self, any_build: bool = False) -> dict | None:
        try:
            manifest = json.loads(self.manifest.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            return None
        settings = build_settings()
        if not any_build and {key: manifest.get(key) for key in settings} != settings:
            return None  # built with other settings: rebuilt
        return manifest

    def read(self, any_build: bool = False) -> Graph | None:
        """The current generation, memory-mapped; None when missing, partial or corrupt (logged),
        or built with other settings (unless ``any_build``: for benchmarks of old graphs)."""
        manifest = self.current(any_build)
        if manifest is None:
            return None
        generation = int(manifest["generation"])
        try:
            graph_path = self.path(generation, "graph")
            if graph_path.stat().st_size != manifest["graph_bytes"]:  # never hand usearch a cut file
                raise ValueError(f"{graph_path} has {graph_path.stat().st_size} bytes, the manifest says {manifest['graph_bytes']}")
            ids = np.load(self.path(generation, "ids.npy"), mmap_mode="r")
            stamps = np.load(self.path(generation, "stamps.npy"), mmap_mode="r")
            vectors = np.load(self.path(generation, "vectors.npy"), mmap_mode="r")
            index = _restore(graph_path, view=True)
            if index is None or len(index) != len(ids) or len(stamps) != len(ids) or vectors.shape != (len(ids), manifest["dim"]):
                raise ValueError(f"{graph_path} does not hold the {len(ids)} vectors its manifest lists")
            return Graph(index, ids, stamps, vectors, generation)
        except (OSError, ValueError, RuntimeError, KeyError) as error:
            log.warning("vector graph %s unusable, it will be rebuilt: %s", self.cache, error)
            return None

    def load_writable(self):
        """The current graph read into memory, for adding and removing (a view is read-only)."""
        manifest = self.current()
        try:
            return _restore(self.path(int(manifest["generation"]), "graph"), view=False)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as error:
            log.warning("vector graph %s could not be loaded for an update, rebuilding: %s", self.cache, error)
            return None

    def commit(self, graph: Graph) -> None:
        """Write ``graph`` as the next generation and make it current (atomically), then delete
        every other generation's files (processes serving them keep their mappings)."""
        manifest = self.current(any_build=True)  # numbering goes on past a graph built otherwise
        generation = (int(manifest["generation"]) + 1) if manifest else 1
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        written = {
            "graph": lambda path: graph.index.save(str(path)),
            "ids.npy": lambda path: _save_npy(path, np.asarray(graph.ids, dtype=np.int64)),
            "stamps.npy": lambda path: _save_npy(path, np.asarray(graph.stamps, dtype=STAMP)),
            "vectors.npy": lambda path: _save_npy(path, np.asarray(graph.vectors, dtype=np.float16)),
        }
        for part, write in written.items():
            _write_atomically(self.path(generation, part), write)
        _write_atomically(self.manifest, lambda path: path.write_text(json.dumps({
            "format": FORMAT, "generation": generation, "count": len(graph.ids), "dim": int(graph.vectors.shape[1]),
            "graph_bytes": self.path(generation, "graph").stat().st_size,
            "metric": "cos", **build_settings(),
        })))
        keep = {self.path(generation, part).name for part in written} | {self.manifest.name, self.lock.name}
        for stale in self.cache.parent.glob(self.cache.name + "*"):
            if stale.name not in keep:
                stale.unlink(missing_ok=True)

    @contextmanager
    def locked(self, block: bool):
        """Hold the update lock (yields True), or yield False at once if ``block`` is off and
        another process holds it. The kernel releases it if the process dies."""
        self.lock.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock, "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not block:
                    yield False
                    return
                log.info("waiting for the vector graph lock %s (another process is updating it)", self.lock)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.save(handle, array)


def _write_atomically(final: Path, write: Callable[[Path], None]) -> None:
    """``write`` to a temporary name, flush it to disk, rename it over ``final``."""
    temporary = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    try:
        write(temporary)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
