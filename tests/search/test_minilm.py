"""The real default model: loads offline from its package, verified, and embeds sensibly in every precision."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from papertide.config import get_settings
from papertide.search.semantic.embedder import EmbedderUnavailable, document_text
from papertide.search.semantic import minilm_torch
from papertide.search.semantic.minilm import MiniLM, cpu_has_int8_units, model_dir
from papertide.search.semantic.registry import load_embedder

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo"
REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "minilm" / "reference.npz"


@pytest.fixture(scope="module")
def model():
    return load_embedder("default")


@pytest.fixture(scope="module")
def reference():
    """Texts and their vectors by sentence-transformers itself (fp32, PyTorch): the model's
    reference implementation, recorded once (tests/fixtures/minilm/reference.npz says by what)."""
    with np.load(REFERENCE, allow_pickle=False) as data:
        return data["texts"].tolist(), data["vectors"]


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


def test_auto_picks_int8_queries_where_the_cpu_has_int8_units(model):
    assert model.query_precision == ("int8" if cpu_has_int8_units() else "fp32")


def test_documents_equal_the_reference_implementation(reference):
    """The exported document model is the original: same vectors as sentence-transformers', to
    float16 rounding of the stored weights (cosine >= 0.9999, every text, empty and 256+ tokens too)."""
    texts, expected = reference
    fresh = MiniLM().embed_documents(texts)
    cosine = (fresh * expected).sum(1)
    assert cosine.min() >= 0.9999, (cosine.min(), texts[int(cosine.argmin())][:80])


@pytest.mark.parametrize("precision, tolerance", [("fp32", 0.9999), ("int8", 0.99)])
def test_queries_stay_close_to_the_reference_in_each_precision(precision, tolerance, reference):
    """int8 queries (SmoothQuant-ed, dynamic activations) within cosine 0.99 of fp32: the bound
    the search benchmarks were run with. Each text alone, as a query is embedded; the empty text
    (0.983 in int8: two special tokens only) is left out, as search never embeds it."""
    texts, expected = reference
    embedder = MiniLM(query_precision=precision)
    cosine = np.array([float(embedder.embed_query(text) @ vector) for text, vector in zip(texts, expected) if text])
    assert cosine.min() >= tolerance, cosine.min()


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


@pytest.mark.parametrize("dtype, tolerance", [("fp32", 0.9999), ("bf16", 0.999)])
def test_bulk_documents_on_torch_equal_the_reference(dtype, tolerance, reference):
    """The ``bulk`` extra's PyTorch path (bf16 on CPUs with bf16 units) gives the same vectors."""
    texts, expected = reference
    bulk = minilm_torch.TorchDocuments(MiniLM()._tokenizer, dtype=dtype)
    assert (bulk.device, bulk.dtype) == ("cpu", dtype)
    cosine = (bulk.embed_documents(texts) * expected).sum(1)
    assert cosine.min() >= tolerance, (cosine.min(), texts[int(cosine.argmin())][:80])


def test_documents_go_to_torch_where_the_bulk_extra_is_installed(monkeypatch):
    """"auto" picks PyTorch when it is installed (as in the test environment), onnxruntime when not;
    the setting overrides."""
    assert minilm_torch.installed()
    assert MiniLM().document_engine == "onnxruntime"  # the class alone: what it is told
    monkeypatch.setattr(minilm_torch, "installed", lambda: False)
    assert MiniLM(document_engine="auto").document_engine == "onnxruntime"
    without = MiniLM(document_engine="torch")  # queries still work: a web server's embedder
    assert without.embed_query("protein folding").shape == (384,)
    with pytest.raises(EmbedderUnavailable, match="bulk extra"):
        without.embed_documents(["A paper."])
    monkeypatch.undo()
    assert MiniLM(document_engine="auto").document_engine == "torch"
    monkeypatch.setenv("PAPERTIDE_DOCUMENT_ENGINE", "onnxruntime")
    get_settings.cache_clear()
    try:
        assert load_embedder("default").document_engine == "onnxruntime"
    finally:
        get_settings.cache_clear()
    with pytest.raises(EmbedderUnavailable, match="unknown document engine"):
        MiniLM(document_engine="tensorflow")


def test_precision_comes_from_the_settings(monkeypatch):
    monkeypatch.setenv("PAPERTIDE_QUERY_PRECISION", "fp32")
    get_settings.cache_clear()
    try:
        embedder = load_embedder("default")
    finally:
        get_settings.cache_clear()
    assert embedder.query_precision == "fp32"


def test_an_unknown_precision_is_refused():
    with pytest.raises(EmbedderUnavailable, match="unknown query precision"):
        MiniLM(query_precision="int4")


def test_a_tampered_model_file_is_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir(), copy)
    tokenizer = copy / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"lowercase":true', '"lowercase":false', 1))
    with pytest.raises(EmbedderUnavailable, match="checksum mismatch"):
        MiniLM(directory=copy)


def test_a_missing_model_file_is_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir(), copy)
    (copy / "query.int8.onnx").unlink()
    with pytest.raises(EmbedderUnavailable, match="model file missing"):
        MiniLM(directory=copy)
