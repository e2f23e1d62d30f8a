"""Add the papers of the saved Hugging Face search page to the demo catalog, with their vectors.

    PYTHONPATH=src python scripts/demo_seed_papers.py [--seed data/demo/seed_papers.jsonl]

The page (``shared/data/hf_papers_search_page.txt``; RL, reward models, neural architectures, back
to 2017) names no arXiv ids, so its papers, copied as ``data/demo/seed_papers.jsonl`` (fields:
title, abstract, authors_count, org, org_name, published, upvotes), become catalog papers with a
local id (``catalog.paper_ids.local_id_for_title``), not daily-list entries. A seed paper the demo
already holds (same ``title_key``) keeps its arXiv record and is not added again.

What each field becomes: ``published`` the paper's date; ``org``/``org_name`` its organisation;
``upvotes`` (Hugging Face's count, shown by 6 of 44) its imported upvote count, as for any
imported paper. The page names no authors, only how many: the author list stays empty and the
count is kept as ``authors_count`` (ingest ignores it). Vectors are the MiniLM document vectors
``papertide index`` computes, in fp32 (the same on every machine), stored as the file keeps them.

Running it again gives the same files: earlier seed rows are replaced, not added twice.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from papertide.catalog.paper_ids import is_arxiv_key, local_id_for_title, title_key  # noqa: E402
from papertide.ingest.jsonl import record_from_mapping  # noqa: E402
from papertide.search.semantic.embedder import document_text  # noqa: E402
from papertide.search.semantic.indexer import text_hash, vectors_checksum  # noqa: E402

DEMO = REPO / "data" / "demo"


def seed_row(seed: dict) -> dict:
    """A demo-corpus line for one seed paper."""
    row = {"id": local_id_for_title(seed["title"]), "title": seed["title"], "abstract": seed["abstract"],
           "authors": [], "authors_count": seed.get("authors_count"), "published_at": f"{seed['published']}T00:00:00Z"}
    if seed.get("org"):
        row |= {"org": seed["org"], "org_name": seed.get("org_name") or seed["org"]}
    if seed.get("upvotes") is not None:
        row["upvotes"] = seed["upvotes"]
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=Path, default=DEMO / "seed_papers.jsonl")
    parser.add_argument("--corpus", type=Path, default=DEMO / "papers.jsonl.gz")
    parser.add_argument("--vectors", type=Path, default=DEMO / "papers.embeddings.npz")
    args = parser.parse_args(argv)

    seeds = [json.loads(line) for line in args.seed.read_text(encoding="utf-8").splitlines() if line.strip()]
    with gzip.open(args.corpus, "rb") as handle:
        lines = [line for line in handle.read().splitlines() if line.strip()]
    # Earlier runs' rows go; arXiv papers stay, and a seed paper among them is not added again.
    kept = [line for line in lines if is_arxiv_key(json.loads(line).get("arxiv_id") or "local-")]
    known = {title_key(json.loads(line)["title"]) for line in kept}
    added = [seed_row(seed) for seed in seeds if title_key(seed["title"]) not in known]
    records = [record_from_mapping(row) for row in added]  # what ingest will store, checked now
    print(f"{len(seeds)} seed papers: {len(seeds) - len(added)} already in the demo, {len(added)} added")

    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as out:
        out.write(b"\n".join(kept + [json.dumps(row, ensure_ascii=False).encode() for row in added]) + b"\n")
    args.corpus.write_bytes(buffer.getvalue())

    from papertide.search.semantic.minilm import MiniLM

    with np.load(args.vectors, allow_pickle=False) as data:
        ids, hashes, vectors, model = data["arxiv_ids"].tolist(), data["text_hashes"].tolist(), data["vectors"], str(data["model"])
    keep = [i for i, key in enumerate(ids) if is_arxiv_key(key)]
    embedder = MiniLM()
    if embedder.model_id != model:
        raise SystemExit(f"{args.vectors} holds vectors of {model}, not {embedder.model_id}")
    fresh = embedder.embed_documents([document_text(r.title, r.abstract) for r in records]).astype("<f2")
    vectors = np.concatenate([vectors[keep], fresh]) if records else vectors[keep]
    np.savez_compressed(
        args.vectors,
        arxiv_ids=np.array([ids[i] for i in keep] + [r.arxiv_id for r in records]),
        text_hashes=np.array([hashes[i] for i in keep] + [text_hash(r.title, r.abstract) for r in records]),
        vectors=vectors,
        model=np.array(model),
        sha256=np.array(vectors_checksum(vectors)),
    )
    print(f"{len(vectors):,} vectors in {args.vectors}")


if __name__ == "__main__":
    main()
