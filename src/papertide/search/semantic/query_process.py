"""The query embedding in a child process, so that it truly runs beside the keyword side.

``SearchService.search`` embeds the query while the keyword side searches. On a thread of the same
process the two halves share the GIL (both are Python between native calls), so they overlap only
partly (``benchmarks/embedding_overlap.py``; figures in the research log). So a ``QueryProcess``
keeps the query model in a child process and talks to it over a pipe. Queries only: documents are
embedded in-process by ``papertide index`` (batch work, no GIL to share).

- The child is *spawned*, never forked: the web server is threaded, and a forked child inherits its locks.
  (So, as with any spawned child, the program's main module must be importable without running
  it: ``if __name__ == "__main__"``, as console scripts, ``python -m`` and uvicorn are.)
  It loads the model exactly as the service would (``load_embedder``: same name and precision
  settings, checksum-verified files, one thread) and answers ``(number, text)`` requests.
- It exits when the parent goes away: end-of-file on its pipe, or (should a grandchild hold the
  pipe open) its parent process id changing, checked every second while idle.
- Thread-safe: requests are numbered; any thread may send, and whichever waiting thread holds the
  read lock reads the answers in order, keeping the others' for them.
- Failure never breaks search: a child that is down, crashes during a request or does not answer
  within ``query_timeout`` of the request (an answer that came in time is taken however late the
  caller comes for it: the keyword side's first query at 1M takes seconds) makes that one query fail fast with ``QueryProcessError`` (the service
  answers it with keywords only), is killed, and is restarted in the background; restarts back off
  (1, 2, 4 ... 60 s) while children keep dying without answering. Keyword-only rather than the
  in-process model as the fallback: loading the model in the parent costs seconds (that query would
  wait for them) and ~100 MB per worker, and would bring the GIL contention back.
- A model that cannot load at all (checksum mismatch, bad precision setting) is not a crash: it
  raises ``EmbedderUnavailable`` and is not retried, as the in-process model would.
- The child also searches the HNSW graph with the vector it made, when the request names the
  graph's files and the generation the parent serves (``GraphQuery``): embedding and graph search
  are one after the other whoever runs them, so running both in the child takes the graph search
  off the parent's path while the parent's keyword side runs. The child maps the same files (shared page cache); a generation it cannot open, or any other
  failure of the search, gives no hits and the parent searches itself.
- The vector is sent as soon as it is made, before the graph search: the parent, done with its
  keyword side by then, scores its keyword candidates against it while the child searches.
  So an answer comes in parts, ``(number, part, value)`` with part "vector", "hits" or "error".
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass

import numpy as np

from papertide.config import get_settings
from papertide.search.semantic.embedder import Embedder, EmbedderUnavailable
from papertide.search.semantic.query_child import GraphQuery, serve
from papertide.search.semantic.registry import describe, load_embedder

log = logging.getLogger(__name__)

MODES = ("process", "inline")
START_TIMEOUT = 120.0  # seconds for a child to import onnxruntime and load the model (on a busy machine)
QUERY_TIMEOUT = 2.0  # seconds for one query vector: hundreds of times what an embedding takes (docs/performance.md)
RESTART_BACKOFF = (1.0, 60.0)  # first and longest wait between restarts of children that keep dying
LOCK_GRACE = 0.1  # seconds a late caller waits for the thread reading the pipe (answers come in order)
FORGOTTEN_PARTS = 256  # answers' parts kept for callers before the oldest are dropped


class QueryProcessError(RuntimeError):
    """The child could not answer this query (down, crashed, too slow): embed it some other way or not at all."""


def query_embedder(name: str, threads: int = 1) -> Embedder:
    """The embedder ``SearchService`` uses for queries: the process-wide ``QueryProcess`` of model
    ``name`` when ``PAPERTIDE_QUERY_EMBEDDER`` is ``process`` (the default), else the model in this
    process (``inline``). The model-free ``hash`` embedder is always inline."""
    settings = get_settings()
    if settings.query_embedder not in MODES:
        raise EmbedderUnavailable(f"unknown PAPERTIDE_QUERY_EMBEDDER {settings.query_embedder!r} (known: {', '.join(MODES)})")
    if name == "hash" or settings.query_embedder == "inline":
        return load_embedder(name, threads=threads)
    key = (name, settings.query_precision)
    with _shared_lock:
        process = _shared.get(key)
        if process is None or process.unavailable:
            process = _shared[key] = QueryProcess(name, query_precision=settings.query_precision)
        return process


_shared: dict[tuple[str, str], "QueryProcess"] = {}
_shared_lock = threading.Lock()


class QueryProcess:
    """One child process holding the query model of ``name`` (see the module doc). Started by the
    first ``submit`` (or ``start``), which waits for it; restarted in the background after a failure."""

    def __init__(self, name: str = "default", *, query_precision: str | None = None, query_timeout: float = QUERY_TIMEOUT,
                 start_timeout: float = START_TIMEOUT, restart_backoff: tuple[float, float] = RESTART_BACKOFF):
        self.model_id, self.dim = describe(name)
        self.name, self.query_precision = name, query_precision
        self.query_timeout, self.start_timeout, self.restart_backoff = query_timeout, start_timeout, restart_backoff
        self.unavailable: str | None = None  # why the model can never load here
        self._child: _Child | None = None
        self._lock = threading.Lock()
        self._starting: threading.Thread | None = None
        self._first_start_over = False  # until then, queries wait for the start as for a model load
        self._failures = 0  # children that died in a row without answering
        self._next_start = 0.0

    @property
    def pid(self) -> int | None:
        """The current child's process id (None while there is none)."""
        child = self._child
        return child.process.pid if child is not None else None

    @property
    def failures(self) -> int:
        """Children that died (or never started) in a row without answering."""
        return self._failures

    @property
    def restart_in(self) -> float:
        """Seconds until the next child may start (0 when it may start now)."""
        return max(0.0, self._next_start - time.monotonic())

    def start(self) -> None:
        """Start the child now if there is none, and wait until it is ready (or failed)."""
        self._starter(wait=True)

    def submit(self, text: str, graph: GraphQuery | None = None) -> "PendingQuery":
        """Send ``text`` to the child; the vector is ``.result()`` of the answer, and with ``graph``
        its nearest papers are ``.graph_hits()`` (None if the child could not search that
        generation). Never raises: a failure is raised by ``result()``."""
        try:
            child = self._live_child()
            return PendingQuery(self, child, child.send(text, graph), time.monotonic() + self.query_timeout, graph is not None)
        except (QueryProcessError, EmbedderUnavailable) as error:
            return PendingQuery(self, None, -1, 0.0, False, error)

    def embed_query(self, text: str) -> np.ndarray:
        return self.submit(text).result()

    def embed_documents(self, texts):
        raise NotImplementedError("documents are embedded in-process (load_embedder): QueryProcess is for queries")

    def close(self) -> None:
        """Stop the child (a running server leaves this to the child's end-of-file at exit)."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.stop()

    # -- the child's life ------------------------------------------------------------------------

    def _live_child(self) -> "_Child":
        if self.unavailable:
            raise EmbedderUnavailable(self.unavailable)
        child = self._child
        if child is not None and child.healthy():
            return child
        if child is not None:
            self._lost(child, child.broken or f"exited with code {child.process.exitcode}")
        self._starter(wait=not self._first_start_over)
        if self.unavailable:
            raise EmbedderUnavailable(self.unavailable)
        child = self._child
        if child is None:
            raise QueryProcessError("the query embedding process is starting")
        return child

    def _starter(self, wait: bool) -> None:
        """Start a child on a background thread unless one is running or the backoff forbids it."""
        with self._lock:
            starting = self._starting
            if starting is None and self._child is None and not self.unavailable and time.monotonic() >= self._next_start:
                starting = self._starting = threading.Thread(target=self._start_child, name="papertide-query-process-start", daemon=True)
                starting.start()
        if wait and starting is not None:
            starting.join(self.start_timeout + 5)

    def _start_child(self) -> None:
        started = time.monotonic()
        try:
            child = _Child.spawn(self.name, self.query_precision, self.start_timeout)
        except EmbedderUnavailable as error:
            log.warning("semantic search off: the query model cannot load: %s", error)
            self.unavailable = str(error)
        except Exception as error:  # noqa: BLE001 - QueryProcessError, or spawn itself failing: retried later
            self._backoff(f"did not start: {error}")
        else:
            log.info("query embedding process %d ready in %.1f s", child.process.pid, time.monotonic() - started)
            with self._lock:
                self._child = child
        finally:
            with self._lock:
                self._starting, self._first_start_over = None, True

    def _lost(self, child: "_Child", why: str) -> None:
        """Forget ``child`` (once, whoever notices first) and schedule the next start."""
        with self._lock:
            if self._child is not child:
                return
            self._child = None
        child.stop()
        self._backoff(f"process {child.process.pid} {why}")

    def _backoff(self, why: str) -> None:
        with self._lock:
            first, longest = self.restart_backoff
            wait = min(longest, first * 2 ** self._failures)
            self._failures += 1
            self._next_start = time.monotonic() + wait
        log.warning("query embedding %s; keyword-only search until it restarts (in %.0f s or later)", why, wait)

    def _answered(self) -> None:
        self._failures = 0


@dataclass
class PendingQuery:
    """One query sent to the child; ``result()`` waits for its vector (until the deadline), and
    ``graph_hits()`` then for the graph's answer, if one was asked for."""

    owner: QueryProcess
    child: "_Child | None"
    number: int
    deadline: float
    graph: bool = False
    error: Exception | None = None
    answered: bool = False  # the vector came

    def result(self) -> np.ndarray:
        if self.error is not None:
            raise self.error
        try:
            vector = self._part("vector")
        except QueryProcessError as error:
            if not self.child.broken:
                log.warning("query embedding failed on one query: %s", error)
            raise
        self.owner._answered()
        self.answered = True
        return vector

    def graph_hits(self) -> list[tuple[int, float]] | None:
        """The graph's nearest papers for the vector ``result()`` returned; None when no graph was
        asked for, or the child could not search it, or failed meanwhile (the caller searches)."""
        if not (self.graph and self.answered):
            return None
        try:
            return self._part("hits")
        except QueryProcessError:
            return None

    def _part(self, part: str):
        try:
            return self.child.answer(self.number, part, self.deadline)
        except QueryProcessError as error:
            if self.child.broken:  # not just this query failing in the model: the child is done
                self.owner._lost(self.child, str(error))
            raise


class _Child:
    """One spawned child and the parent's end of its pipe. Once ``broken`` it is never used again."""

    def __init__(self, process, connection):
        self.process, self.connection = process, connection
        self.broken: str | None = None
        self._numbers = itertools.count()
        self._send_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._answers: dict[tuple[int, str], object] = {}  # (number, part) read for other threads

    @classmethod
    def spawn(cls, name: str, precision: str | None, timeout: float) -> "_Child":
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        process = context.Process(target=serve, args=(child_end, name, precision, os.getpid()),
                                  name="papertide-query-embedder", daemon=True)
        process.start()
        child_end.close()  # only the child holds it now: its exit is our end-of-file
        child = cls(process, parent_end)
        try:
            if not parent_end.poll(timeout):
                raise QueryProcessError(f"no answer within {timeout:.0f} s")
            hello = parent_end.recv()
        except (EOFError, OSError) as error:
            child.stop()
            raise QueryProcessError(f"exited while loading (code {process.exitcode}): {error!r}") from error
        except QueryProcessError:
            child.stop()
            raise
        if hello[0] != "ready":
            child.stop()
            raise (EmbedderUnavailable if hello[0] == "unavailable" else QueryProcessError)(hello[1])
        return child

    def healthy(self) -> bool:
        return self.broken is None and self.process.is_alive()

    def send(self, text: str, graph: GraphQuery | None = None) -> int:
        with self._send_lock:
            if self.broken:
                raise QueryProcessError(self.broken)
            number = next(self._numbers)
            try:
                self.connection.send((number, text, graph))
            except (OSError, ValueError) as error:
                raise self._break(f"pipe closed: {error!r}") from error
        return number

    def answer(self, number: int, part: str, deadline: float):
        """Part ``part`` ("vector" or "hits") of the answer to request ``number``: read by
        whichever waiting thread holds the read lock."""
        while True:
            if not self._read_lock.acquire(timeout=max(LOCK_GRACE, deadline - time.monotonic())):
                raise self._break("no answer in time (another query held the pipe)")
            try:
                if (number, "error") in self._answers:
                    raise QueryProcessError(f"the model failed on this query: {self._answers.pop((number, 'error'))}")
                if (number, part) in self._answers:
                    return self._answers.pop((number, part))
                if self.broken:
                    raise QueryProcessError(self.broken)
                try:
                    # Past the deadline an answer already in the pipe is still taken: the caller may
                    # come for it late (its own work was slow), the child was not.
                    if not self.connection.poll(max(0.0, deadline - time.monotonic())):
                        raise self._break("no answer before the query's deadline")
                    got, got_part, value = self.connection.recv()
                except (EOFError, OSError) as error:  # (OSError: another thread stopped it)
                    raise self._break(f"exited during a query: {error!r}") from error
                self._keep(got, got_part, value)
            finally:
                self._read_lock.release()

    def _keep(self, number: int, part: str, value) -> None:
        """Keep a part for the thread that will ask for it. Parts nobody asks for (a caller that
        gave up after the vector) are dropped once far behind the newest request."""
        self._answers[(number, part)] = value
        if len(self._answers) > FORGOTTEN_PARTS:
            for key in [key for key in self._answers if key[0] < number - FORGOTTEN_PARTS // 2]:
                del self._answers[key]

    def _break(self, why: str) -> QueryProcessError:
        self.broken = self.broken or why
        self.process.kill()  # a hung or dying child is never waited for twice
        return QueryProcessError(why)

    def stop(self) -> None:
        self.broken = self.broken or "stopped"
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)  # reap it: no zombie left behind
        self.connection.close()
