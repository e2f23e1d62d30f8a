"""The one interface every embedding model sits behind (the models by name: ``registry.py``).

Search, indexing and the benchmarks only ever see an ``Embedder``: a model id (stored next to
every vector, so vectors from different models are never compared), a dimension, and two calls.
Vectors are L2-normalised float32, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from collections.abc import Sequence
from typing import Protocol

import numpy as np


class EmbedderUnavailable(RuntimeError):
    """The model cannot be loaded (package missing, checksum mismatch): search falls back to keywords."""


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, unit length; batched, for indexing."""

    def embed_query(self, text: str) -> np.ndarray:
        """(dim,) float32, unit length; one short text, for latency."""


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (``/proc/cpuinfo``; empty where there is none): which precision runs
    well here depends on them (int8 units for queries, bf16 units for bulk documents)."""
    try:
        return frozenset(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return frozenset()


def padded_batches(tokenizer, texts: Sequence[str], batch_size: int):
    """``(rows, ids, mask)`` for each batch of ``texts``, tokenised: texts of similar lengths
    together (less padding, less wasted compute), ``ids`` and ``mask`` int64 arrays padded with 0,
    ``rows`` the texts' positions."""
    encodings = tokenizer.encode_batch(list(texts))
    order = np.argsort([len(e.ids) for e in encodings], kind="stable")
    for start in range(0, len(texts), batch_size):
        rows = order[start : start + batch_size]
        width = max(len(encodings[i].ids) for i in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for r, i in enumerate(rows):
            n = len(encodings[i].ids)
            ids[r, :n], mask[r, :n] = encodings[i].ids, 1
        yield rows, ids, mask


def document_text(title: str, abstract: str) -> str:
    """What a paper's vector is computed from: the title, then the abstract (measured best)."""
    return f"{title.strip()}. {abstract.strip()}" if abstract else title.strip()


class HashEmbedder:
    """A deterministic bag-of-words embedder with no model: for unit tests only.

    Texts sharing words get similar vectors, so search plumbing can be tested for real,
    but it says nothing about search quality.
    """

    def __init__(self, dim: int = 64):
        self.dim = dim
        self.model_id = f"hash-{dim}"

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vector[int.from_bytes(digest[:4], "little") % self.dim] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)
