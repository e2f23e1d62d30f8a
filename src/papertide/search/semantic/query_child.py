"""The query process's child: its whole life, and the request it answers (see ``query_process.py``).

Spawned, it loads the query model exactly as the service would, says hello, and then answers
``(number, text, graph)`` requests until its parent goes away: the vector first, then, when the
request names a graph generation, that graph's nearest papers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from papertide.search.semantic import ann
from papertide.search.semantic.embedder import EmbedderUnavailable
from papertide.search.semantic.registry import load_embedder

PARENT_CHECK_SECONDS = 1.0  # how often an idle child checks that its parent is still there


class GraphQuery(NamedTuple):
    """Search the graph generation ``generation`` cached at ``cache`` for the ``k`` nearest
    papers of the query's vector (``ann.GraphFiles``)."""

    cache: str
    generation: int
    k: int



def serve(connection, name: str, precision: str | None, parent_pid: int) -> None:
    """The child's whole life: load the model, say hello, answer until the parent goes away."""
    try:
        embedder = load_embedder(name, threads=1, query_precision=precision)
        embedder.embed_query("warm up")  # the first forward pass is slow: not on a reader's query
    except EmbedderUnavailable as error:
        connection.send(("unavailable", str(error)))
        return
    except Exception as error:  # noqa: BLE001 - told to the parent, which retries later
        connection.send(("failed", repr(error)))
        return
    connection.send(("ready", embedder.model_id, embedder.dim))
    graph = _ChildGraph()
    while True:
        try:
            if not connection.poll(PARENT_CHECK_SECONDS):
                if os.getppid() != parent_pid:
                    return  # orphaned while another process still holds our pipe open
                continue
            number, text, graph_query = connection.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe or died
        try:
            vector = embedder.embed_query(text)
            answer = (number, "vector", vector)
        except Exception as error:  # noqa: BLE001 - one bad query is that query's failure, not the child's
            vector, answer = None, (number, "error", repr(error))
        try:
            connection.send(answer)  # the parent scores its keyword candidates meanwhile
            if graph_query and vector is not None:
                connection.send((number, "hits", graph.search(graph_query, vector)))
        except OSError:
            return


class _ChildGraph:
    """The child's view of the graph generation its parent serves, opened (memory-mapped) when a
    request names one it does not hold, and kept while requests name it (the parent keeps
    serving a generation until its next check, even after a newer one replaced it on disk)."""

    def __init__(self):
        self.key: tuple[str, int] | None = None
        self.graph = None

    def search(self, request: GraphQuery, vector: np.ndarray) -> list[tuple[int, float]] | None:
        try:
            if self.key != (request.cache, request.generation):
                self.key, self.graph = (request.cache, request.generation), None
                opened = ann.GraphFiles(Path(request.cache)).read()
                if opened is not None and opened.generation == request.generation:
                    self.graph = opened  # (else the disk moved on: the parent searches until it does too)
            return self.graph.search(vector, request.k) if self.graph is not None else None
        except Exception:  # noqa: BLE001 - the parent searches itself; never the child's end
            self.key, self.graph = None, None
            return None
