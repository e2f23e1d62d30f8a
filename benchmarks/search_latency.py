"""Search speed: end-to-end hybrid query latency, the semantic side at 1M, memory, embedding rate.

    python benchmarks/search_latency.py [--sizes 10000,100000,1000000] [--keyword-sizes 1000000]
                                        [--vector-sizes 1000000] [--queries 200] [--skip-embedding]
                                        [--keyword-path impact|budget|exact] [--vectors pairmix|fitted]

10k is the real demo corpus with its real vectors. Larger sizes add synthetic papers: titles and
abstracts drawn from the demo corpus's own word frequencies (so FTS5 posting lists have realistic
lengths) and synthetic vectors from ``ann_vectors.py`` (``--vectors``): ``pairmix``, two real
vectors mixed plus noise (the first generator, far more near-ties than real data), or ``fitted``,
drawn from a density fitted to the real vectors (its databases and graphs are named ``-fitted-``). Queries are the known-item benchmark's queries (real sentences).
Each query goes through ``SearchService.search`` exactly as the web app calls it: query
embedding, FTS5, vector search, fusion, checking the hits (each step timed by the service's
trace, ``papertide.search.trace``); and each side alone (keyword only,
semantic only with the query vector given, the embedding), and end to end without the
embedding's time (the query vector given; the graph then searched in this process), and, with the
query process, end to end with the graph searched in this process instead of the child
(``graph_here``: the path before the child searched it), each over a first (cold caches) and second pass. ``--vector-sizes`` measures the semantic
side alone (HNSW build, recall@10 against exact, latency, memory) on synthetic vectors.
The service embeds queries as configured (``PAPERTIDE_QUERY_EMBEDDER``: in its child process by
default, ``embedding_round_trip`` is that child's answer to one query alone; ``inline``: on a thread).
Wall-clock and CPU time are both reported: on a shared machine the CPU time is the stable figure
(the parent's CPU: the child's embedding is not in it).
Databases are kept in ``--workdir`` and reused. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import ann_vectors  # noqa: E402
from papertide.db import Database  # noqa: E402
from papertide.search import KeywordOptions, SearchOptions, SearchQuery, SearchService, SemanticOptions  # noqa: E402
from papertide.search.files import SearchFiles  # noqa: E402
from papertide.search.keyword.impact_build import build_impact_index  # noqa: E402
from papertide.search.keyword.terms import COLUMN_WEIGHTS  # noqa: E402
from papertide.search.semantic.indexer import text_hash  # noqa: E402
from papertide.search.semantic.query_process import QueryProcess, query_embedder  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402
from papertide.search.semantic.vectors import VectorIndex, to_blob  # noqa: E402
from papertide.search.trace import capture  # noqa: E402
from shared_data import KNOWN_ITEM_QUERIES  # noqa: E402

DEMO = REPO / "data" / "demo" / "papers.jsonl.gz"
DEMO_VECTORS = REPO / "data" / "demo" / "papers.embeddings.npz"
QUERIES = KNOWN_ITEM_QUERIES
ABSTRACT_AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Claude Shannon", "Marie Curie", "John von Neumann"]


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


def database_path(workdir: Path, size: int, kind: str) -> Path:
    """The benchmark database of ``size`` papers whose synthetic vectors are of ``kind``."""
    return workdir / (f"latency-{size}.db" if kind == "pairmix" else f"latency-{kind}-{size}.db")


def build(path: Path, size: int, papers: list[dict], vectors: np.ndarray, model_id: str, seed: int = 0, kind: str = "pairmix") -> None:
    """A migrated database with ``size`` papers: the real ones first, then synthetic ones
    (vectors of ``kind``: ``ann_vectors.py``)."""
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    rng = np.random.default_rng(seed)
    words = Counter(w for p in papers for w in re.findall(r"[A-Za-z][A-Za-z-]+", p["title"] + " " + p["abstract"]))
    vocabulary = np.array(list(words))
    weights = np.array(list(words.values()), dtype=np.float64)
    weights /= weights.sum()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    # Bulk load: the FTS5 insert trigger is set aside and the index built once at the end
    # ('rebuild' writes large sorted segments; row-by-row triggers took 444 s for 100k).
    trigger = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'papers_fts_insert'").fetchone()[0]
    connection.execute("DROP TRIGGER papers_fts_insert")
    start = datetime(2020, 1, 1)
    batch = 20_000
    density = ann_vectors.FittedDensity(vectors.astype(np.float32)) if kind == "fitted" and size > len(papers) else None
    for first in range(0, size, batch):
        rows, embeddings = [], []
        count = min(batch, size - first)
        synthetic_at = max(0, len(papers) - first)
        draws = rng.choice(len(vocabulary), size=(count, 160), p=weights)
        if density is None:  # pairmix, drawn here as it always was (the databases built before stay valid)
            mix = rng.integers(0, len(vectors), size=(count, 2))
            noise = rng.standard_normal((count, vectors.shape[1])).astype(np.float32) * 0.03
            synthetic = vectors[mix[:, 0]].astype(np.float32) + 0.6 * vectors[mix[:, 1]].astype(np.float32) + noise
            synthetic /= np.linalg.norm(synthetic, axis=1, keepdims=True)
        else:
            synthetic = density.sample(count, seed=seed + 1 + first)
        for j in range(count):
            n = first + j + 1
            if j < synthetic_at:
                paper = papers[first + j]
                title, abstract, authors, vector = paper["title"], paper["abstract"], paper["authors"], vectors[first + j]
                published = paper["published"]
            else:
                tokens = vocabulary[draws[j]]
                title, abstract = " ".join(tokens[:10]).capitalize(), " ".join(tokens[10:]) + "."
                authors, vector = [ABSTRACT_AUTHORS[n % 6]], synthetic[j]
                published = (start + timedelta(minutes=3 * n)).strftime("%Y-%m-%d %H:%M:%S.%f")
            rows.append((n, f"9{n:09d}" if j >= synthetic_at else paper["arxiv_id"], title, abstract, json.dumps(authors), published))
            embeddings.append((n, model_id, text_hash(title, abstract), to_blob(vector)))
        connection.executemany(
            "INSERT INTO papers (id, arxiv_id, title, abstract, authors, published_at, categories, content_hash, hidden, "
            "imported_upvotes, imported_comments, vote_count, comment_count, created_at, modified_at) "
            "VALUES (?, ?, ?, ?, ?, ?, '[]', '', 0, 0, 0, 0, 0, '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')",
            rows,
        )
        connection.executemany("INSERT INTO paper_embeddings (paper_id, model, text_hash, vector) VALUES (?, ?, ?, ?)", embeddings)
        connection.commit()
        print(f"  built {first + count:,} / {size:,}", file=sys.stderr, flush=True)
    print("  building the FTS5 index", file=sys.stderr, flush=True)
    connection.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")
    connection.execute("INSERT INTO papers_fts(papers_fts) VALUES ('optimize')")
    connection.execute(trigger)
    connection.commit()
    connection.close()


KEYWORD_PATHS = ("impact", "budget", "exact")


def keyword_path(name: str, database: Database) -> tuple[SearchOptions, dict]:
    """The service options that make the SQLite keyword side take ``name`` (keyword/__init__.py):
    the impact index (built beside the database first if it is missing: its build time and size
    are returned), the FTS5 postings budget, or exact FTS5 BM25; never a build in the background."""
    options = SearchOptions(keyword=KeywordOptions(impact_index=name == "impact", build_impact_index=False,
                                                   exact_below_papers=10**12 if name == "exact" else KeywordOptions().exact_below_papers))
    files = SearchFiles(database.url)
    path = files.impact_index
    if name != "impact" or path is None:
        return options, {}
    figures = {}
    if not path.exists():
        before = rss_mb()
        summary = build_impact_index(files.database_file, path, COLUMN_WEIGHTS)
        print(f"  {summary.line()}", file=sys.stderr, flush=True)
        figures = {"impact_build_s": round(summary.seconds, 1), "impact_build_rss_growth_mb": round(rss_mb() - before, 0)}
    return options, {**figures, "impact_file_mb": round(path.stat().st_size / 2**20, 0)}


class GivenVectors:
    """An embedder that answers with query vectors computed beforehand (the figure for an
    embedder that costs nothing); the same model id and size as ``embedder``."""

    def __init__(self, embedder, vectors_of: dict):
        self.model_id, self.dim, self.vectors_of = embedder.model_id, embedder.dim, vectors_of

    def embed_query(self, text: str) -> np.ndarray:
        return self.vectors_of[text]

    def embed_documents(self, texts):
        raise NotImplementedError("queries only")


def load_demo() -> tuple[list[dict], np.ndarray, str]:
    with gzip.open(DEMO, "rt", encoding="utf-8") as handle:
        raw = [json.loads(line) for line in handle]
    with np.load(DEMO_VECTORS) as data:
        order = {a: i for i, a in enumerate(data["arxiv_ids"].tolist())}
        vectors, model_id = data["vectors"], str(data["model"])
    papers = []
    for item in raw:
        if item.get("arxiv_id") in order:  # the Daily Papers (the seed papers have local ids: left out, as before)
            published = datetime.fromisoformat(item["published_at"].replace("Z", "+00:00")).astimezone(timezone.utc)
            papers.append({
                "arxiv_id": item["arxiv_id"], "title": item["title"], "abstract": item["abstract"],
                "authors": item.get("authors") or [], "published": published.strftime("%Y-%m-%d %H:%M:%S.%f"),
                "row": order[item["arxiv_id"]],
            })
    return papers, np.stack([vectors[p["row"]] for p in papers]), model_id


def timed(run, items) -> dict:
    """p50/p99 wall and CPU milliseconds of ``run(item)`` over ``items``."""
    wall, cpu = [], []
    for item in items:
        t, c = time.perf_counter(), time.process_time()
        run(item)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"p50_ms": round(percentile(wall, 50), 2), "p99_ms": round(percentile(wall, 99), 2),
            "cpu_p50_ms": round(percentile(cpu, 50), 2), "cpu_p99_ms": round(percentile(cpu, 99), 2)}


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def measure_size(size: int, args, papers, vectors, embedder, queries: list[str]) -> dict:
    """Every side of a query at ``size`` papers: keyword only, semantic only (query vector
    given), the query embedding, and ``SearchService.search`` end to end, with the embedding and
    with the query vector given (the figure for an embedder that costs nothing). The first pass
    over the queries meets cold caches (the keyword side's word and pair statistics); the
    second pass is what a running server sees for queries like these."""
    path = database_path(args.workdir, size, args.vectors)
    done = path.with_suffix(".done")
    if not done.exists():
        for stale in args.workdir.glob(f"{path.name}*"):
            stale.unlink()
        started = time.perf_counter()
        build(path, size, papers[:size], vectors[:size], embedder.model_id, kind=args.vectors)
        done.write_text("ok")
        print(f"  database of {size:,} built in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    database = Database(f"sqlite:///{path}")
    options, impact = keyword_path(args.keyword_path, database)
    candidates = options.candidates
    query_side = query_embedder("default", threads=1)  # what SearchService embeds queries with
    service = SearchService(database, query_side, options)
    before = rss_mb()
    started = time.perf_counter()
    service.search(SearchQuery("warm up the vector index", 20))  # loads the vectors (builds the graph once)
    load_seconds = time.perf_counter() - started
    with database.session() as session:
        index = service.semantic.index(session)
        service.keyword.search(session, "warm up the keyword statistics", candidates)
    after = rss_mb()
    result = {"papers": size, "ann": index.uses_ann, "keyword_path": args.keyword_path, **impact, "index_load_s": round(load_seconds, 1),
              "rss_mb_after_load": round(after, 0), "index_rss_mb": round(after - before, 0), "pss_mb_after_load": round(pss_mb()),
              "load_before": load_average()}
    vectors_of = {}
    result["embedding"] = timed(lambda q: vectors_of.__setitem__(q, embedder.embed_query(q)), queries)
    result["query_embedder"] = type(query_side).__name__
    if isinstance(query_side, QueryProcess):
        result["embedding_round_trip"] = timed(query_side.embed_query, queries)
        result["query_process_rss_mb"] = round(rss_mb(query_side.pid))
    # The variants: the query vector given (searched in this process), and, with the query
    # process, the graph searched in this process instead of the child. Each shares the service's
    # keyword side (its caches, as in one server) and opens the same vectors.
    given = SearchService(database, GivenVectors(embedder, vectors_of), options)
    given.keyword = service.keyword
    graph_here = None
    if isinstance(query_side, QueryProcess) and index.uses_ann:
        graph_here = SearchService(database, query_side, replace(options, semantic=SemanticOptions(graph_in_query_process=False)))
        graph_here.keyword = service.keyword
    for variant in (given, graph_here):
        if variant is not None:
            variant.search(SearchQuery(queries[0], 20))  # opens its vectors
    for run in ("cold", "warm"):
        with database.session() as session:
            result[f"keyword_{run}"] = timed(lambda q: service.keyword.search(session, q, candidates), queries)
        with database.session() as session:
            result[f"semantic_{run}"] = timed(lambda q: (index.search(vectors_of[q], candidates), index.scores(vectors_of[q], range(1, 101))), queries)
        result[f"end_to_end_{run}"] = timed(lambda q: service.search(SearchQuery(q, 20)), queries)
        if graph_here is not None:  # the same, with the graph searched in this process
            result[f"end_to_end_graph_here_{run}"] = timed(lambda q: graph_here.search(SearchQuery(q, 20)), queries)
        result[f"end_to_end_no_embedding_{run}"] = timed(lambda q: given.search(SearchQuery(q, 20)), queries)
    result["breakdown"] = breakdown(given, queries)
    if index.uses_ann:
        recalls = []
        for q in queries[:100]:
            truth = {i for i, _ in _exact_top(index, vectors_of[q], 10)}
            recalls.append(len(truth & {i for i, _ in index.search(vectors_of[q], 10)}) / 10)
        result["ann_recall@10"] = round(float(np.mean(recalls)), 4)
    result["load_after"] = load_average()
    database.dispose()
    return result


# The steps of one ``SearchService.search``, as its trace names them (the keyword side's own
# paths are spans inside "keyword"; "graph hits" inside "semantic").
STEPS = ("begin embedding", "title", "keyword", "likely hits", "query vector", "semantic", "fusion", "hits")


def breakdown(service: SearchService, queries: list[str]) -> dict:
    """Each step of ``SearchService.search`` (p50/p99 wall and CPU, ms), from its trace, over a
    pass with the query vector given (the embedding is the ``embedding`` figure; it runs on the
    other core meanwhile), and all of them but the keyword side."""
    steps = {name: ([], []) for name in (*STEPS, "all_but_keyword")}
    for q in queries:
        with capture() as spans:
            service.search(SearchQuery(q, 20))
        of = {name: [s for s in spans if s.name == name] for name in STEPS}
        for name, found in of.items():
            if found:
                steps[name][0].append(sum(s.wall_ms for s in found))
                steps[name][1].append(sum(s.cpu_ms for s in found))
        rest = [s for name, found in of.items() if name != "keyword" for s in found]
        steps["all_but_keyword"][0].append(sum(s.wall_ms for s in rest))
        steps["all_but_keyword"][1].append(sum(s.cpu_ms for s in rest))
    return {name: {"p50_ms": round(percentile(w, 50), 2), "p99_ms": round(percentile(w, 99), 2),
                   "cpu_p50_ms": round(percentile(c, 50), 2), "cpu_p99_ms": round(percentile(c, 99), 2)}
            for name, (w, c) in steps.items() if w}


def measure_keyword(size: int, args, queries: list[str]) -> dict:
    """The keyword side alone at ``size`` papers (a database built by an earlier run or by
    ``build``), for sizes whose vector index is not built: FTS5 and the budgeted BM25 only."""
    path = database_path(args.workdir, size, args.vectors)
    if not path.with_suffix(".done").exists():
        raise SystemExit(f"{path} is not built: run with --sizes {size} first (or build() it)")
    database = Database(f"sqlite:///{path}")
    options, impact = keyword_path(args.keyword_path, database)
    service = SearchService(database, None, options)  # semantic side off: title lookup, keyword, fusion, hits
    before = rss_mb()
    with database.session() as session:
        started = time.perf_counter()
        service.keyword.search(session, "warm up the keyword statistics", options.candidates)
        load_seconds = time.perf_counter() - started
        result = {"papers": size, "keyword_path": args.keyword_path, **impact, "statistics_load_s": round(load_seconds, 1),
                  "statistics_rss_mb": round(rss_mb() - before, 0), "load_before": load_average()}
        for run in ("cold", "warm"):
            result[f"keyword_{run}"] = timed(lambda q: service.keyword.search(session, q, options.candidates), queries)
    result["rss_mb"] = round(rss_mb(), 0)  # the impact file's pages are in it once read (shared with other processes)
    result["service_without_vectors"] = timed(lambda q: service.search(SearchQuery(q, 20)), queries)
    result["load_after"] = load_average()
    database.dispose()
    return result


def pss_mb() -> float:
    """Proportional set size: pages shared with other processes (a memory-mapped graph that
    several workers map) count once in total, split between them."""
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return rss_mb()


def read_vectors(path: Path, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every vector of a benchmark database with its text hash (the graph's stamp, so that the
    service finds the graph up to date), in id order."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    ids, stamps, blobs = [], [], []
    for paper_id, stamp, blob in connection.execute("SELECT paper_id, text_hash, vector FROM paper_embeddings ORDER BY paper_id"):
        ids.append(paper_id)
        stamps.append(stamp)
        blobs.append(blob)
    connection.close()
    vectors = np.frombuffer(b"".join(blobs), dtype="<f2").reshape(len(blobs), dim)
    return np.asarray(ids, dtype=np.int64), np.asarray(stamps, dtype="S32"), vectors


def measure_vectors(size: int, vectors: np.ndarray, embedder, queries: list[str], workdir: Path, efs: list[int], kind: str = "pairmix") -> dict:
    """The semantic side alone at ``size`` vectors: the benchmark database's own when
    ``latency-{size}.db`` is built (its graph kept beside it, where ``SearchService`` finds it),
    else synthetic ones of ``kind``. The graph is built (or brought up to date, or only opened: ``update``
    says which), then: opening the saved graph (memory-mapped, and read into memory), recall@10
    against exact search and top-100 latency for each ef (``expansion_search``), memory."""
    from tqdm import tqdm

    from papertide.search.semantic import ann

    database = database_path(workdir, size, kind)
    if database.with_suffix(".done").exists():
        started = time.perf_counter()
        ids, stamps, data = read_vectors(database, vectors.shape[1])
        source, cache = f"{database.name} ({time.perf_counter() - started:.0f} s to read)", SearchFiles(f"sqlite:///{database}").vector_graph(embedder.model_id)
    else:
        data = ann_vectors.synthetic(kind, vectors.astype(np.float32), size, seed=1)
        name = f"vectors-{size}.usearch" if kind == "pairmix" else f"vectors-{kind}-{size}.usearch"
        ids, source, cache = np.arange(1, size + 1), f"synthetic ({kind})", workdir / name
        stamps = ann.vector_stamps(data)
    print(f"  semantic side at {size:,}: vectors of {source}; graph {cache}", file=sys.stderr, flush=True)
    wall, cpu = time.perf_counter(), time.process_time()
    with tqdm(desc="vector graph", unit=" vectors", file=sys.stderr) as bar:
        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        index = VectorIndex(ids, data, ann_cache=cache, stamps=stamps, progress=advance)
    result = {"vectors": size, "source": source, "update": index.update.__dict__, "build_threads": os.cpu_count(),
              "open_or_build_s": round(time.perf_counter() - wall, 1), "open_or_build_cpu_s": round(time.process_time() - cpu, 1),
              "connectivity": ann.CONNECTIVITY, "expansion_add": ann.EXPANSION_ADD, "load_before": load_average()}
    del index
    result["incremental_update"] = measure_update(cache, ids, stamps, data)
    del data
    files = ann.GraphFiles(cache)
    rss, pss = rss_mb(), pss_mb()
    started = time.perf_counter()
    graph = files.read()  # what a web worker does: map the three files
    result["view_open_s"] = round(time.perf_counter() - started, 2)
    from usearch.index import Index

    started = time.perf_counter()
    in_memory = Index.restore(str(files.path(graph.generation, "graph")), view=False)  # what the one updating process does
    result["load_into_memory_s"] = round(time.perf_counter() - started, 1)
    result["graph_in_memory_mb"] = round(in_memory.memory_usage / 2**20)
    del in_memory
    result["graph_file_mb"] = round(files.path(graph.generation, "graph").stat().st_size / 2**20)
    result["vectors_file_mb"] = round(files.path(graph.generation, "vectors.npy").stat().st_size / 2**20)
    index = VectorIndex(graph.ids, graph.vectors, ann_cache=cache, stamps=graph.stamps)  # the same generation: no work
    query_vectors = [embedder.embed_query(q) for q in queries]
    started = time.perf_counter()
    truth = [{i for i, _ in _exact_top(index, v, 10)} for v in query_vectors]
    result["exact_top10_ms_per_query"] = round((time.perf_counter() - started) * 1000 / len(query_vectors), 1)
    result["by_ef"] = {}
    for ef in efs:
        index._ann.index.expansion_search = ef
        for v in query_vectors[:10]:  # touch the pages this ef reads
            index.search(v, 100)
        recall = float(np.mean([len(t & {i for i, _ in index.search(v, 10)}) / 10 for t, v in zip(truth, query_vectors)]))
        # what the service sees: the first ten of its top-100 request (usearch widens ef to k)
        recall_in_100 = float(np.mean([len(t & {i for i, _ in index.search(v, 100)[:10]}) / 10 for t, v in zip(truth, query_vectors)]))
        figures = timed(lambda v: index.search(v, 100), query_vectors)
        result["by_ef"][ef] = {"recall@10": round(recall, 4), "recall@10_of_top100": round(recall_in_100, 4),
                               **{f"top100_{k}": v for k, v in figures.items()}}
        print(f"  ef {ef}: recall@10 {recall:.4f} (of a top-100: {recall_in_100:.4f}), top-100 {figures}", file=sys.stderr, flush=True)
    index._ann.index.expansion_search = ann.EXPANSION_SEARCH
    result["workers_memory_mb"] = memory_of_workers(cache)
    result["rss_mb_with_graph_mapped"] = round(rss_mb() - rss)
    result["pss_mb_with_graph_mapped"] = round(pss_mb() - pss)
    result["load_after"] = load_average()
    return result


def measure_update(cache: Path, ids: np.ndarray, stamps: np.ndarray, vectors: np.ndarray, added: int = 1_000, removed: int = 100) -> dict:
    """What ``papertide index`` does to the saved graph after an ingest: ``added`` new papers,
    ``removed`` deleted ones (on a copy of the graph's files; the original is left as it is)."""
    import shutil

    from papertide.search.semantic import ann

    files = ann.GraphFiles(cache)
    copy = cache.parent / "update-copy" / cache.name
    shutil.rmtree(copy.parent, ignore_errors=True)
    copy.parent.mkdir()
    generation = ann.generation(cache)
    for part in ("graph", "ids.npy", "stamps.npy", "vectors.npy"):
        shutil.copy(files.path(generation, part), ann.GraphFiles(copy).path(generation, part))
    shutil.copy(files.manifest, ann.GraphFiles(copy).manifest)
    rng = np.random.default_rng(2)
    fresh = vectors[rng.integers(0, len(vectors), added)].astype(np.float32) + rng.standard_normal((added, vectors.shape[1])).astype(np.float32) * 0.03
    fresh /= np.linalg.norm(fresh, axis=1, keepdims=True)
    new_ids = np.concatenate([ids[removed:], ids[-1] + 1 + np.arange(added)])
    new_vectors = np.concatenate([vectors[removed:], fresh.astype(np.float16)])
    new_stamps = np.concatenate([stamps[removed:], ann.vector_stamps(fresh.astype(np.float16))])
    wall, cpu = time.perf_counter(), time.process_time()
    index = VectorIndex(new_ids, new_vectors, ann_cache=copy, stamps=new_stamps)
    result = {"update": index.update.__dict__, "wall_s": round(time.perf_counter() - wall, 1), "cpu_s": round(time.process_time() - cpu, 1)}
    del index
    shutil.rmtree(copy.parent)
    print(f"  incremental update (+{added:,} -{removed:,}): {result}", file=sys.stderr, flush=True)
    return result


SHARING_CHILD = """
import json, sys, numpy as np
from papertide.search.semantic.ann import GraphFiles
files = GraphFiles(sys.argv[1])
if sys.argv[2] == "view":
    graph = files.read()
    index, rows = graph.index, graph.vectors
else:  # the whole graph read into this process's memory
    from usearch.index import Index
    graph = files.read()
    index, rows = Index.restore(str(files.path(graph.generation, "graph")), view=False), np.array(graph.vectors)
queries = np.random.default_rng(int(sys.argv[3])).standard_normal((300, rows.shape[1])).astype(np.float32)
for q in queries:
    index.search(q, 100)
    rows[np.random.default_rng(0).integers(0, len(rows), 200)].astype(np.float32) @ q
fields = {}
for line in open("/proc/self/smaps_rollup"):
    name, _, value = line.partition(":")
    if value.strip().endswith("kB"):
        fields[name] = int(value.split()[0]) // 1024
print(json.dumps({k: fields[k] for k in ("Rss", "Pss", "Shared_Clean", "Private_Clean", "Private_Dirty")}), flush=True)
sys.stdin.read()  # stay alive (and mapped) until every process has measured itself
"""


def memory_of_workers(cache: Path, processes: int = 2) -> dict:
    """RSS/PSS (MB) of ``processes`` processes serving the same graph at once, after 300 queries
    each: memory-mapped (``view``, what a worker does) and read into each process's memory."""
    import subprocess

    figures = {}
    for mode in ("view", "load"):
        children = [
            subprocess.Popen([sys.executable, "-c", SHARING_CHILD, str(cache), mode, str(n)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "src")})
            for n in range(processes)
        ]
        figures[mode] = [json.loads(child.stdout.readline()) for child in children]
        for child in children:
            child.communicate("")
        print(f"  {processes} processes, graph {mode}: {figures[mode]}", file=sys.stderr, flush=True)
    return figures


def _exact_top(index: VectorIndex, query: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Exact top-``k`` over every vector the graph holds (float16 rows, converted by blocks)."""
    scores = np.empty(len(index.ids), dtype=np.float32)
    q = query.astype(np.float32)
    for start in range(0, len(index.ids), 65_536):
        scores[start : start + 65_536] = index.vectors[start : start + 65_536].astype(np.float32) @ q
    best = np.argpartition(-scores, k - 1)[:k]
    return [(int(index.ids[i]), float(scores[i])) for i in best[np.argsort(-scores[best])]]


def embedding_rate(papers: list[dict]) -> dict:
    """Abstracts per second (tokenising and pooling included), by thread count.

    Wall-clock rates depend on what else the machine runs; the CPU-time rate (abstracts per
    CPU-second of this process) is reported too, as the contention-free figure per core.
    """
    texts = [p["abstract"] for p in papers[:512]]
    figures = {}
    for threads in (1, 2):
        for name in ("minilm",):
            model = load_embedder(name, threads=threads)
            model.embed_documents(texts[:32])
            wall, cpu = time.perf_counter(), time.process_time()
            model.embed_documents(texts)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            figures[f"{name}_{threads}t_docs_per_s"] = round(len(texts) / wall, 1)
            figures[f"{name}_{threads}t_docs_per_cpu_s"] = round(len(texts) / cpu, 1)
    model = load_embedder("minilm", threads=1)
    times = []
    for p in papers[:110]:
        t = time.perf_counter()
        model.embed_query(p["title"])
        times.append((time.perf_counter() - t) * 1000)
    figures["query_embedding_p50_ms"] = round(percentile(times[10:], 50), 2)
    figures["query_embedding_p99_ms"] = round(percentile(times[10:], 99), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="Corpus sizes for end-to-end hybrid queries.")
    parser.add_argument("--keyword-sizes", default="", help="Sizes for the keyword side alone (databases already built).")
    parser.add_argument("--vector-sizes", default="1000000", help="Sizes for the semantic side alone ('' for none).")
    parser.add_argument("--ef", default="32,64,96,128,192,256", help="expansion_search values for --vector-sizes (recall vs latency).")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--queries-file", type=Path, default=QUERIES,
                        help="JSONL with a 'text' per line (default: the known-item queries; missing: every 50th demo title).")
    parser.add_argument("--workdir", type=Path, default=Path(".cache/search_latency"))
    parser.add_argument("--vectors", choices=ann_vectors.KINDS, default="pairmix",
                        help="Synthetic vectors above the real ones (ann_vectors.py): pair mixes, or drawn from a fitted density.")
    parser.add_argument("--skip-embedding", action="store_true", help="Do not measure the embedding rate.")
    parser.add_argument("--keyword-path", choices=KEYWORD_PATHS, default="impact",
                        help="--keyword-sizes: the impact index (built first if missing), the FTS5 postings budget, or exact BM25.")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    papers, vectors, model_id = load_demo()
    embedder = load_embedder("default", threads=1)  # as SearchService loads it
    if args.queries_file.exists():
        queries = [json.loads(line)["text"] for line in args.queries_file.read_text().splitlines() if line.strip()]
        source = str(args.queries_file)
    else:  # (a checkout without ../shared beside it)
        queries = [p["title"] for p in papers[::50]]
        source = f"every 50th demo title ({args.queries_file} not found)"
    queries = (queries * (1 + args.queries // max(1, len(queries))))[: args.queries]
    print(f"queries: {len(queries)}, {source}", flush=True)  # on stdout: runs on other query sets are not comparable
    results = {"queries": source}
    if not args.skip_embedding:
        results["embedding"] = embedding_rate(papers)
        print(f"embedding: {results['embedding']}", flush=True)
        load_embedder("default", threads=1)  # back to one thread for the query measurements
    print(f"{'papers':>9} {'what':<30} {'p50 ms':>7} {'p99 ms':>7} {'cpu p50':>7} {'cpu p99':>7}   (load)")
    for size in (int(s) for s in args.sizes.split(",") if s):
        r = measure_size(size, args, papers, vectors, embedder, queries)
        results[str(size)] = r
        for what in ("embedding", "embedding_round_trip", "keyword_cold", "keyword_warm", "semantic_cold", "semantic_warm", "end_to_end_cold",
                     "end_to_end_warm", "end_to_end_graph_here_cold", "end_to_end_graph_here_warm",
                     "end_to_end_no_embedding_cold", "end_to_end_no_embedding_warm"):
            if what not in r:
                continue
            f = r[what]
            print(f"{size:>9,} {what:<30} {f['p50_ms']:>7} {f['p99_ms']:>7} {f['cpu_p50_ms']:>7} {f['cpu_p99_ms']:>7}", flush=True)
        for what, f in r["breakdown"].items():
            print(f"{size:>9,} {'  ' + what:<30} {f['p50_ms']:>7} {f['p99_ms']:>7} {f['cpu_p50_ms']:>7} {f['cpu_p99_ms']:>7}", flush=True)
        print(f"{size:>9,} HNSW {r['ann']} recall@10 {r.get('ann_recall@10', '-')}; RSS {r['rss_mb_after_load']:.0f} MB "
              f"(index {r['index_rss_mb']:.0f} MB); query embedder {r['query_embedder']} (child RSS {r.get('query_process_rss_mb', '-')} MB); index load {r['index_load_s']} s; load average {r['load_before']} -> {r['load_after']}", flush=True)
    for size in (int(s) for s in args.keyword_sizes.split(",") if s):
        r = measure_keyword(size, args, queries)
        results[f"keyword_{size}"] = r
        for what in ("keyword_cold", "keyword_warm", "service_without_vectors"):
            f = r[what]
            print(f"{size:>9,} {what:<30} {f['p50_ms']:>7} {f['p99_ms']:>7} {f['cpu_p50_ms']:>7} {f['cpu_p99_ms']:>7}", flush=True)
        print(f"{size:>9,} keyword path {r['keyword_path']}; statistics loaded in {r['statistics_load_s']} s, "
              f"{r['statistics_rss_mb']:.0f} MB; RSS {r['rss_mb']:.0f} MB; impact file {r.get('impact_file_mb', '-')} MB "
              f"(built in {r.get('impact_build_s', '-')} s); load average {r['load_before']} -> {r['load_after']}", flush=True)
    for size in (int(s) for s in args.vector_sizes.split(",") if s):
        r = measure_vectors(size, vectors, embedder, queries[:100], args.workdir, [int(e) for e in args.ef.split(",") if e], args.vectors)
        results[f"vectors_{size}"] = r
        print(f"semantic side at {size:,} vectors: {r}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
