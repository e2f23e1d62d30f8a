"""Int8 linear layers for fast query embedding on CPUs with int8 dot-product units (VNNI).

A query is 5-60 tokens, too few rows for fp32 or bf16 matrix products to run near the CPU's
peak: int8 (fbgemm, dynamic quantisation: weights int8 per output channel, each call's input
quantised per tensor) is faster than bf16 on one thread (research log, "Embedding speed").
Plain int8 ruins all-MiniLM-L6-v2 (its vectors drift from fp32's) because a few input channels
of some layers carry values a hundred times larger than the rest, so one scale per tensor leaves the others no precision.
SmoothQuant (Xiao et al., 2023) moves that range into the weights: input channel ``j`` is
divided by ``s_j = amax_j^alpha / wmax_j^(1-alpha)`` and weight column ``j`` multiplied by it,
which leaves the product unchanged in exact arithmetic. ``amax`` is each layer's largest input
per channel over calibration text, measured once and shipped in ``assets/minilm_int8.npz`` (with the
checksum of the weights it belongs to), so loading stays fast and deterministic.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch  # imported only by minilm.MiniLM, after it has checked that torch is installed

CALIBRATION_FILE = Path(__file__).resolve().parent / "assets" / "minilm_int8.npz"
ALPHA = 0.8  # measured best of 0.3-1.0 on the benchmark queries (benchmarks/search_research_log.md)


def int8_supported() -> bool:
    """fbgemm (x86 with AVX2 or better) is what runs the int8 products."""
    return "fbgemm" in torch.backends.quantized.supported_engines


def load_calibration(model_sha256: str, path: Path | None = None) -> dict[str, np.ndarray]:
    """The per-layer input maxima, or ``ValueError`` if they belong to other weights."""
    path = path or CALIBRATION_FILE
    with np.load(path, allow_pickle=False) as data:
        if str(data["model_sha256"]) != model_sha256:
            raise ValueError(f"{path.name} was calibrated for other weights")
        return {name: data[name] for name in data.files if name != "model_sha256"}


def save_calibration(maxima: dict[str, np.ndarray], model_sha256: str, path: Path | None = None) -> None:
    np.savez(path or CALIBRATION_FILE, model_sha256=np.array(model_sha256), **{k: v.astype(np.float32) for k, v in maxima.items()})


def measure_input_maxima(model, run) -> dict[str, np.ndarray]:
    """Largest absolute input per channel of every ``nn.Linear`` in ``model`` while ``run(model)`` runs."""
    maxima: dict[str, torch.Tensor] = {}

    def record(name):
        def hook(module, inputs, output):
            x = inputs[0].detach().float().abs().reshape(-1, inputs[0].shape[-1]).amax(0)
            maxima[name] = torch.maximum(maxima[name], x) if name in maxima else x

        return hook

    hooks = [m.register_forward_hook(record(n)) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)]
    try:
        with torch.inference_mode():
            run(model)
    finally:
        for hook in hooks:
            hook.remove()
    return {name: value.numpy() for name, value in maxima.items()}


def quantize(model, maxima: dict[str, np.ndarray], alpha: float = ALPHA):
    """``model`` with every calibrated ``nn.Linear`` replaced, in place, by a smoothed int8 one."""
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            name = f"{parent_name}.{child_name}" if parent_name else child_name
            if isinstance(child, torch.nn.Linear) and name in maxima:
                setattr(parent, child_name, SmoothedInt8Linear(child, torch.from_numpy(maxima[name]), alpha))
    return model


class SmoothedInt8Linear(torch.nn.Module):
    """``linear(x)`` computed as ``int8_linear(x / s)``, the weight columns multiplied by ``s``."""

    def __init__(self, linear: torch.nn.Linear, input_maxima: torch.Tensor, alpha: float) -> None:
        super().__init__()
        weight = linear.weight.detach().float()
        smooth = input_maxima.clamp(min=1e-5) ** alpha / weight.abs().amax(0).clamp(min=1e-5) ** (1 - alpha)
        weight = weight * smooth
        scales = (weight.abs().amax(1) / 127.0).clamp(min=1e-8).double()
        zeros = torch.zeros(weight.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # quantized tensors are deprecated after torch 2.13 (pinned)
            warnings.simplefilter("ignore", UserWarning)
            quantized = torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8)
        self.packed = torch.ops.quantized.linear_prepack(quantized, linear.bias.detach().float())
        self.register_buffer("inverse_smooth", 1.0 / smooth)

    def forward(self, x):
        return torch.ops.quantized.linear_dynamic(x * self.inverse_smooth, self.packed, False)
