"""The real default model: loads offline from its package, verified, and embeds sensibly in every precision."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from papertide.config import get_settings
from papertide.search.semantic import int8
from papertide.search.semantic.embedder import EmbedderUnavailable, document_text
from papertide.search.semantic.registry import load_embedder
from papertide.search.semantic.minilm import SHA256, MiniLM, model_dir

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"


@pytest.fixture(scope="module")
def model():
    return load_embedder("default")


@pytest.fixture(scope="module")
def reference():
    """fp32 on both sides: the precision every other one is compared with."""
    return MiniLM(query_precision="fp32", document_precision="fp32")


@pytest.fixture(scope="module")
def demo_papers():
    """Real arXiv papers the int8 calibration did not see (it used the first 32)."""
    with gzip.open(DEMO / "papers.jsonl.gz", "rt", encoding="utf-8") as handle:
        papers = [json.loads(line) for line in handle]
    return [paper for paper in papers if paper.get("arxiv_id")][-24:]


def test_vectors_are_unit_length_and_meaningful(model):
    docs = model.embed_documents([
        "Protein structure prediction with deep learning.",
        "A neural network predicts how proteins fold.",
        "A recipe for chocolate cake with cherries.",
    ])
    assert docs.shape == (3, 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert docs[0] @ docs[1] > docs[0] @ docs[2] + 0.3
    query = model.embed_query("how do proteins fold")
    assert query.shape == (384,) and abs(float(np.linalg.norm(query)) - 1.0) < 1e-3
    assert query @ docs[1] > query @ docs[2] + 0.3


def test_auto_picks_int8_queries_where_fbgemm_runs(model):
    assert model.query_precision == ("int8" if int8.int8_supported() else "fp32")


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bf16", "int8"])
def test_fast_query_precisions_stay_close_to_fp32_on_real_text(precision, reference, demo_papers):
    fast = MiniLM(query_precision=precision, document_precision="fp32")
    queries = [p["title"] for p in demo_papers] + [p["abstract"][:200] for p in demo_papers]
    cosine = [float(fast.embed_query(q) @ reference.embed_query(q)) for q in queries]
    assert min(cosine) >= (0.999 if precision == "bf16" else 0.99), min(cosine)


@pytest.mark.slow
def test_documents_match_the_shipped_demo_vectors(model, demo_papers):
    """The document path must keep producing the vectors `make demo` imports."""
    with np.load(DEMO / "papers.embeddings.npz", allow_pickle=False) as stored:
        rows = {arxiv_id: i for i, arxiv_id in enumerate(stored["arxiv_ids"].tolist())}
        shipped = stored["vectors"][[rows[p["arxiv_id"]] for p in demo_papers[:8]]].astype(np.float32)
    fresh = model.embed_documents([document_text(p["title"], p["abstract"]) for p in demo_papers[:8]])
    shipped /= np.linalg.norm(shipped, axis=1, keepdims=True)
    assert (fresh * shipped).sum(1).min() > 0.999


def test_query_and_document_precisions_agree(model):
    text = "Sparse attention lets transformers read long documents."
    assert float(model.embed_query(text) @ model.embed_documents([text])[0]) > 0.99


def test_long_text_is_truncated_not_rejected(model):
    assert model.embed_documents(["word " * 5000]).shape == (1, 384)
    assert model.embed_query("word " * 5000).shape == (384,)


def test_precision_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("PAPERTIDE_QUERY_PRECISION", "bf16")
    monkeypatch.setenv("PAPERTIDE_DOCUMENT_PRECISION", "fp32")
    get_settings.cache_clear()
    try:
        embedder = load_embedder("default")
    finally:
        get_settings.cache_clear()
    assert (embedder.query_precision, embedder.document_precision) == ("bf16", "fp32")


def test_an_unknown_precision_is_refused():
    with pytest.raises(EmbedderUnavailable, match="unknown query precision"):
        MiniLM(query_precision="int4")


def test_a_tampered_model_file_is_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir(), copy)
    config = copy / "config.json"
    config.write_text(config.read_text().replace('"hidden_act"', '"hidden_act" ', 1))
    with pytest.raises(EmbedderUnavailable, match="checksum mismatch"):
        MiniLM(directory=copy)


def test_int8_calibration_of_other_weights_is_refused(tmp_path, monkeypatch):
    maxima = int8.load_calibration(SHA256["model.safetensors"])
    foreign = tmp_path / "minilm_int8.npz"
    int8.save_calibration(maxima, "0" * 64, foreign)
    monkeypatch.setattr(int8, "CALIBRATION_FILE", foreign)
    with pytest.raises(EmbedderUnavailable, match="calibrated for other weights"):
        MiniLM(query_precision="int8")



# Run in a fresh interpreter: whether the query model is traced depends on what the process
# loaded before (minilm._single_query_model), and this test process loads usearch for other tests.
TRACED_CHECK = """
import gzip, json, sys
import numpy as np
if sys.argv[1] == "usearch-first":
    import usearch.index
from papertide.search.semantic.minilm import MiniLM
papers = [json.loads(line) for line in gzip.open(sys.argv[2], "rt")][-5:]
texts = ["", "attention", papers[0]["title"], papers[1]["abstract"][:300], " ".join(p["abstract"] for p in papers[:3])]
model = MiniLM()
lengths = {len(model._tokenizer.encode(t).ids) for t in texts}
assert min(lengths) <= 3 and max(lengths) == 256, lengths
queries = np.stack([model.embed_query(t) for t in texts])
# One at a time: int8 quantises each call's input as a whole, so a padded batch would differ anyway.
eager = np.concatenate([model._encode([t], model._model(model.query_precision)) for t in texts])
print(type(model._query_model).__name__, float(np.abs(queries - eager).max()))
"""


@pytest.mark.slow
@pytest.mark.parametrize("loaded", ["torch-first", "usearch-first"])
def test_the_query_path_gives_the_vectors_of_the_python_model_traced_or_not(loaded):
    """embed_query runs a TorchScript copy traced on one 8-token example: every other length, up
    to the 256-token truncation, must give what the Python model gives. With usearch loaded
    first, tracing would spin for ever: the model then runs untraced, and must not hang."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", TRACED_CHECK, loaded, str(DEMO / "papers.jsonl.gz")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    kind, difference = done.stdout.split()
    assert kind == ("RecursiveScriptModule" if loaded == "torch-first" else "Bert")
    assert float(difference) < 1e-5
