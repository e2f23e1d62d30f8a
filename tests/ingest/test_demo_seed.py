"""The demo holds the papers of the saved Hugging Face search page (``scripts/demo_seed_papers.py``):
every one of the 44, once, as a catalog paper with a vector that ``papertide index --import`` takes."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from papertide.catalog.paper_ids import is_arxiv_key, local_id_for_title, title_key
from papertide.ingest.jsonl import JsonlSource, record_from_mapping
from papertide.ingest.runner import ingest
from papertide.search.semantic.indexer import import_vectors, text_hash
from papertide.search.semantic.minilm import MODEL_ID
from tests.conftest import DEMO_CORPUS

SEED = DEMO_CORPUS.with_name("seed_papers.jsonl")
DEMO_VECTORS = DEMO_CORPUS.with_name("papers.embeddings.npz")


@pytest.fixture(scope="module")
def demo() -> dict[str, dict]:
    """The demo corpus by title key (titles are unique in it)."""
    with gzip.open(DEMO_CORPUS, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    by_title = {title_key(row["title"]): row for row in rows}
    assert len(by_title) == len(rows)
    return by_title


def test_every_seed_paper_is_in_the_demo_once_two_under_their_arxiv_ids_the_rest_under_local_ids(demo):
    seeds = [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines()]
    assert len(seeds) == 44
    found = [demo[title_key(seed["title"])] for seed in seeds]
    on_arxiv = {row["arxiv_id"] for row in found if "arxiv_id" in row}
    assert on_arxiv == {"2505.12996", "2508.06026"}  # already in the demo: they keep their ids
    local = [row for row in found if "arxiv_id" not in row]
    assert len(local) == 42 and all(row["id"] == local_id_for_title(row["title"]) for row in local)
    assert not any(row.get("daily_date") or row.get("daily") for row in local)  # catalog papers, not the daily list
    assert all(row["authors"] == [] and row["authors_count"] == seed["authors_count"] and
               row["published_at"].startswith(seed["published"]) for row, seed in zip(found, seeds) if row in local)


def test_each_seed_paper_has_a_vector_of_its_stored_text(demo):
    local = [record_from_mapping(row) for row in demo.values() if "arxiv_id" not in row]
    with np.load(DEMO_VECTORS, allow_pickle=False) as data:
        hashes = dict(zip(data["arxiv_ids"].tolist(), data["text_hashes"].tolist()))
        assert data["vectors"].shape == (len(hashes), 384)
    assert len(local) == 42 and not any(is_arxiv_key(record.arxiv_id) for record in local)
    assert all(hashes[record.arxiv_id] == text_hash(record.title, record.abstract) for record in local)
    assert len(hashes) == len(demo)  # one vector per demo paper, no more


def test_the_seed_papers_and_their_vectors_load_as_make_demo_loads_them(database, demo, tmp_path):
    path = tmp_path / "seed.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in demo.values() if "arxiv_id" not in row))
    assert ingest(database, JsonlSource(path), progress=False).counts.added == 42
    assert import_vectors(database, MODEL_ID, DEMO_VECTORS).imported == 42
