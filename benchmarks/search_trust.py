"""Search people trust, on the known-item corpus: typo'd titles, author names, made-up words.

    python benchmarks/search_trust.py [--backend postgres] [--authors 200]

Loads the known-item corpus as ``search_quality.py`` does (its cached vectors), then runs through
``SearchService.answer``:

- typo'd titles (``typo_queries.py``, seed 11): MRR@10 with spelling correction, and without;
- author names: a seeded sample of the corpus's authors, each query the name as written and
  with one typo in its longest word. Relevant: every paper of that exact name. Recall@10 (of
  min(10, R)) and R-precision (precision at R, R the author's paper count);
- made-up words (``made_up_queries.py``, seed 7): the share answered with no results.

The last line is one JSON object with all figures.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from made_up_queries import made_up_queries  # noqa: E402
from search_quality import embed_corpus, load_corpus, read_jsonl, scratch_database  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402
from typo_queries import typo, typo_queries  # noqa: E402

from papertide.search import SearchOptions, SearchQuery, SearchService  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402


def reciprocal_rank(ranked: list[str], target: str) -> float:
    return next((1.0 / (i + 1) for i, doc in enumerate(ranked[:10]) if doc == target), 0.0)


def author_queries(docs: list[dict], count: int, seed: int) -> list[tuple[str, str, set[str]]]:
    """(name as queried, the name, its papers): the sampled authors, then each misspelt once."""
    papers = defaultdict(set)
    for doc in docs:
        for name in doc.get("authors") or []:
            if len(name.split()) >= 2:
                papers[name].add(str(doc["doc_id"]))
    rng = random.Random(seed)
    names = rng.sample(sorted(papers), count)
    queries = [(name, name, papers[name]) for name in names]
    for name in names:
        longest = max(name.split(), key=len)
        if len(longest) >= 5:
            queries.append((name.replace(longest, typo(longest, rng), 1), name, papers[name]))
    return queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--embedder", default="default")
    parser.add_argument("--cache", type=Path, default=Path(".cache/search_quality"))
    parser.add_argument("--authors", type=int, default=200)
    args = parser.parse_args()
    data = SHARED_DATA / "benchmark_known_item"
    corpus = data / "corpus.jsonl.gz"
    docs = read_jsonl(corpus)
    targets = {q["target"] for q in read_jsonl(data / "queries.jsonl")}
    typos = typo_queries({str(d["doc_id"]): d["title"] for d in docs if d["doc_id"] in targets}, seed=11)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.backend, tmp) as database:
        database.migrate()
        load_corpus(database, docs)
        embedder = load_embedder(args.embedder, threads=1)
        print(embed_corpus(database, embedder, corpus, args.cache), flush=True)
        corrected = SearchService(database, embedder)
        plain = SearchService(database, embedder, SearchOptions(spelling=False))
        for name, service in (("typo'd titles, corrected", corrected), ("typo'd titles, uncorrected", plain)):
            mrr = sum(reciprocal_rank([h.arxiv_id for h in service.search(SearchQuery(q["text"], 10))], q["target"])
                      for q in typos) / len(typos)
            figures[f"{name} MRR@10"] = mrr
        made_up = made_up_queries(200, seed=7)
        figures["made-up answered empty"] = sum(not corrected.search(SearchQuery(q["text"], 10)) for q in made_up) / len(made_up)
        for kind, chosen in (("exact", lambda q: q[0] == q[1]), ("misspelt", lambda q: q[0] != q[1])):
            queries = [q for q in author_queries(docs, args.authors, seed=5) if chosen(q)]
            recall = r_precision = 0.0
            for text, _, relevant in queries:
                ranked = [h.arxiv_id for h in corrected.search(SearchQuery(text, max(10, len(relevant))))]
                recall += len(relevant & set(ranked[:10])) / min(10, len(relevant))
                r_precision += len(relevant & set(ranked[: len(relevant)])) / len(relevant)
            figures[f"authors {kind} ({len(queries)}) recall@10"] = recall / len(queries)
            figures[f"authors {kind} ({len(queries)}) R-precision"] = r_precision / len(queries)
        database.dispose()
    for name, value in figures.items():
        print(f"{name:<45} {value:.3f}")
    print(json.dumps({k: round(v, 4) for k, v in figures.items()}))


if __name__ == "__main__":
    main()
