"""The real default model: loads offline from its package, verified, and embeds sensibly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from papertide.search.embedder import EmbedderUnavailable, load_embedder
from papertide.search.minilm import MiniLM, model_dir


@pytest.fixture(scope="module")
def model():
    return load_embedder("default")


def test_vectors_are_unit_length_and_meaningful(model):
    docs = model.embed_documents([
        "Protein structure prediction with deep learning.",
        "A neural network predicts how proteins fold.",
        "A recipe for chocolate cake with cherries.",
    ])
    assert docs.shape == (3, 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-3)
    assert docs[0] @ docs[1] > docs[0] @ docs[2] + 0.3


def test_query_and_document_precisions_agree(model):
    text = "Sparse attention lets transformers read long documents."
    assert float(model.embed_query(text) @ model.embed_documents([text])[0]) > 0.999


def test_long_text_is_truncated_not_rejected(model):
    assert model.embed_documents(["word " * 5000]).shape == (1, 384)


def test_a_tampered_model_file_is_refused(tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(model_dir(), copy)
    config = copy / "config.json"
    config.write_text(config.read_text().replace('"hidden_act"', '"hidden_act" ', 1))
    with pytest.raises(EmbedderUnavailable, match="checksum mismatch"):
        MiniLM(directory=copy)
