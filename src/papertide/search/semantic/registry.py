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
    """One known model: ``load(threads, query_precision, document_precision)`` makes it;
    ``check()`` raises ``EmbedderUnavailable`` when it cannot load on this installation."""

    model_id: str
    dim: int
    load: Callable[[int | None, str | None, str | None], Embedder]
    check: Callable[[], object] = lambda: None


def _minilm(documents: str | None = None) -> Callable[[int | None, str | None, str | None], Embedder]:
    """MiniLM with the precisions asked for, else the settings' (``documents`` overrides them)."""
    def load(threads: int | None, query_precision: str | None, document_precision: str | None) -> Embedder:
        settings = get_settings()
        return MiniLM(query_precision=query_precision or settings.query_precision,
                      document_precision=documents or document_precision or settings.document_precision, threads=threads)

    return load


MODELS: dict[str, Model] = {
    "default": Model(MODEL_ID, MiniLM.dim, _minilm(), model_dir),
    "minilm": Model(MODEL_ID, MiniLM.dim, _minilm(), model_dir),
    "minilm-bf16": Model(MODEL_ID, MiniLM.dim, _minilm("bf16"), model_dir),  # bfloat16 documents even without bf16 units
    "hash": Model("hash-64", 64, lambda threads, query, documents: HashEmbedder(64)),  # tests: no model files
}


def model(name: str) -> Model:
    try:
        return MODELS[name]
    except KeyError:
        raise EmbedderUnavailable(f"unknown embedder {name!r} (known: {', '.join(MODELS)})") from None


def load_embedder(name: str = "default", threads: int | None = None, query_precision: str | None = None,
                  document_precision: str | None = None) -> Embedder:
    """The embedder called ``name``. The precisions default to the settings
    (``PAPERTIDE_QUERY_PRECISION``/``PAPERTIDE_DOCUMENT_PRECISION``, "auto"); ``threads`` sets
    the process's torch threads (None: one per core). Raises ``EmbedderUnavailable`` when the
    model cannot be loaded."""
    return model(name).load(threads, query_precision, document_precision)


def describe(name: str) -> tuple[str, int]:
    """The model id and dimension of embedder ``name``, without loading it; ``EmbedderUnavailable``
    if it is unknown or cannot load here (its package is not installed)."""
    found = model(name)
    found.check()
    return found.model_id, found.dim
