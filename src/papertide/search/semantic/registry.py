"""The embedding models papertide knows, by the name the settings use: listed here and only here.

A name maps to what it is (model id and dimension, known without loading anything: the vector
index is chosen by them before the first query is embedded) and to how it is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from papertide.config import get_settings
from papertide.search.semantic.embedder import Embedder, EmbedderUnavailable, HashEmbedder
from papertide.search.semantic.minilm import MODEL_ID, MiniLM, model_dir


@dataclass(frozen=True)
class Model:
    """One known model: ``load(threads, query_precision)`` makes it; ``check()`` raises
    ``EmbedderUnavailable`` when it cannot load on this installation."""

    model_id: str
    dim: int
    load: Callable[[int | None, str | None], Embedder]
    check: Callable[[], object] = lambda: None


def _minilm(threads: int | None, query_precision: str | None) -> Embedder:
    """MiniLM with the query precision asked for, else the settings', and their document engine."""
    settings = get_settings()
    return MiniLM(query_precision=query_precision or settings.query_precision, threads=threads,
                  document_engine=settings.document_engine)


MODELS: dict[str, Model] = {
    "default": Model(MODEL_ID, MiniLM.dim, _minilm, model_dir),
    "minilm": Model(MODEL_ID, MiniLM.dim, _minilm, model_dir),
    "hash": Model("hash-64", 64, lambda threads, query_precision: HashEmbedder(64)),  # tests: no model files
}


def model(name: str) -> Model:
    try:
        return MODELS[name]
    except KeyError:
        raise EmbedderUnavailable(f"unknown embedder {name!r} (known: {', '.join(MODELS)})") from None


def load_embedder(name: str = "default", threads: int | None = None, query_precision: str | None = None) -> Embedder:
    """The embedder called ``name``. The query precision defaults to the settings
    (``PAPERTIDE_QUERY_PRECISION``, "auto"); ``threads`` is how many threads embedding documents
    uses (None: one per core; a query always uses one). Raises ``EmbedderUnavailable`` when the
    model cannot be loaded."""
    return model(name).load(threads, query_precision)


def describe(name: str) -> tuple[str, int]:
    """The model id and dimension of embedder ``name``, without loading it; ``EmbedderUnavailable``
    if it is unknown or cannot load here (its package is not installed)."""
    found = model(name)
    found.check()
    return found.model_id, found.dim
