"""all-MiniLM-L6-v2 on CPU through onnxruntime, from the files shipped in ``assets/minilm/``.

Why onnxruntime and not PyTorch: the model is a 6-layer BERT, and running it needs a matrix
library, not a training framework. onnxruntime is a 17 MB wheel where PyTorch is several hundred
MB, and on Linux PyPI's PyTorch is a CUDA build that pulls several GB more. The ONNX files are
made once from the original weights by ``scripts/export_minilm_onnx.py`` (the one place PyTorch is
used; ``assets/minilm/MODEL_CARD.md`` says how and what was measured). They are verified against
pinned SHA-256 sums before loading, so a different or corrupted file fails loudly instead of
silently producing vectors that do not match the stored ones.

Two models, one per side:
- documents (batches of 256-token abstracts) run ``document.onnx``: fp32 arithmetic from weights
  stored as float16; its vectors equal sentence-transformers' (cosine 1.0000);
- queries (one text of a few dozen tokens, waited for) run ``query.int8.onnx`` where the CPU has
  int8 dot-product units (VNNI, AMX): int8 weights, SmoothQuant-ed, about twice as fast as fp32
  and within cosine 0.99 of it. Elsewhere, or when ``PAPERTIDE_QUERY_PRECISION=fp32``,
  queries run the document model.
Both sides stay comparable with the stored fp32 vectors, so vectors never need recomputing when
the precision changes. Where the optional ``bulk`` extra is installed, documents run on PyTorch
instead (``minilm_torch.py``: bfloat16 or a GPU, several times faster for catalog-sized work).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from papertide.search.semantic.embedder import EmbedderUnavailable, cpu_flags, padded_batches

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
ASSETS = Path(__file__).resolve().parent / "assets" / "minilm"
DOCUMENT_MODEL = "document.onnx"
QUERY_MODEL = "query.int8.onnx"
SHA256 = {
    DOCUMENT_MODEL: "780f147b11534e656cd1398ba1b8641121259b668d16cbd346aa60e3c3fa261a",
    QUERY_MODEL: "39fad44b4291fba525cc1b45f5916f6ee97061ecdceeb1bbbe926a4b7388dda2",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}
PRECISIONS = ("auto", "fp32", "int8")
DOCUMENT_ENGINES = ("auto", "onnxruntime", "torch")


def model_dir() -> Path:
    """Where the model files are; ``EmbedderUnavailable`` if this installation cannot run them.
    Found, not imported: a web server that embeds in its query process never loads onnxruntime."""
    for package in ("onnxruntime", "tokenizers"):
        if importlib.util.find_spec(package) is None:
            raise EmbedderUnavailable(f"embedding runtime not installed: no package {package}")
    return ASSETS


def verify(directory: Path) -> None:
    """Raise ``EmbedderUnavailable`` unless every model file has its pinned checksum."""
    for name, expected in SHA256.items():
        path = directory / name
        if not path.is_file():
            raise EmbedderUnavailable(f"model file missing: {path}")
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != expected:
            raise EmbedderUnavailable(f"checksum mismatch for {path}: refusing to load")


def cpu_has_int8_units() -> bool:
    """VNNI or AMX: without them, x86 int8 products saturate 16-bit sums and lose precision."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})


def resolve_precision(requested: str) -> str:
    """What "auto" means on this machine for queries (see the module doc)."""
    if requested not in PRECISIONS:
        raise EmbedderUnavailable(f"unknown query precision {requested!r} (known: {', '.join(PRECISIONS)})")
    if requested != "auto":
        return requested
    return "int8" if cpu_has_int8_units() else "fp32"


def resolve_document_engine(requested: str) -> str:
    """"auto": PyTorch where the ``bulk`` extra is installed, else onnxruntime. "torch" without
    the extra fails at the first documents, not here: a web server's query embedder, made with the
    same settings, embeds no documents and must not fail for want of PyTorch."""
    if requested not in DOCUMENT_ENGINES:
        raise EmbedderUnavailable(f"unknown document engine {requested!r} (known: {', '.join(DOCUMENT_ENGINES)})")
    if requested != "auto":
        return requested
    from papertide.search.semantic import minilm_torch

    return "torch" if minilm_torch.installed() else "onnxruntime"


class MiniLM:
    """The default embedder: 384-dimensional, mean-pooled, unit-length vectors."""

    model_id = MODEL_ID
    dim = 384

    def __init__(self, query_precision: str = "auto", batch_size: int = 16, directory: Path | None = None,
                 threads: int | None = None, document_engine: str = "onnxruntime"):
        directory = directory or model_dir()
        verify(directory)
        from tokenizers import Tokenizer

        self.query_precision = resolve_precision(query_precision)
        self.document_engine = resolve_document_engine(document_engine)
        self._torch_documents = None  # minilm_torch.TorchDocuments, made at the first documents
        self.batch_size = batch_size
        self._directory = directory
        self._threads = threads or 0  # onnxruntime's 0: one thread per core
        self._sessions: dict[str, object] = {}
        self._sessions_lock = threading.Lock()
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._query_session()  # fail now, not at the first query

    def embed_query(self, text: str) -> np.ndarray:
        """One text, unpadded: the lean path a search waits for."""
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        return self._run(self._query_session(), ids, np.ones_like(ids))[0]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if self.document_engine == "torch":
            return self._on_torch().embed_documents(texts)
        session = self._session(DOCUMENT_MODEL)
        for rows, ids, mask in padded_batches(self._tokenizer, texts, self.batch_size):
            out[rows] = self._run(session, ids, mask)
        return out

    def _on_torch(self):
        with self._sessions_lock:
            if self._torch_documents is None:
                from papertide.search.semantic.minilm_torch import TorchDocuments

                self._torch_documents = TorchDocuments(self._tokenizer, batch_size=self.batch_size, threads=self._threads)
        return self._torch_documents

    def _query_session(self):
        return self._session(QUERY_MODEL if self.query_precision == "int8" else DOCUMENT_MODEL)

    def _session(self, name: str):
        """The onnxruntime session of model file ``name``, made on first use: a web worker never
        loads the document model (where queries are int8), the indexer never the query one."""
        session = self._sessions.get(name)
        if session is None:
            with self._sessions_lock:
                session = self._sessions.get(name)
                if session is None:
                    session = self._sessions[name] = _load(self._directory / name, self._threads)
        return session

    @staticmethod
    def _run(session, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return session.run(None, {"input_ids": ids, "attention_mask": mask})[0].astype(np.float32, copy=False)


def _load(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initialisers are not the reader's business
    # Threads that wait for work sleep instead of spinning: a web worker's query shares the
    # cores with everything else the machine serves.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise EmbedderUnavailable(f"cannot load {path.name}: {error}") from error
