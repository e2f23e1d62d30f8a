"""Embedding shared between worker processes: documents per second with 1, 2, ... processes.

    PYTHONPATH=src python benchmarks/shared_embedding.py [--papers 1024] [--processes 1,2]
        [--threads 1] [--embedder default] [--backend sqlite|postgres]

For each process count: a fresh database holding the first ``--papers`` demo papers (no vectors),
then that many processes, each loading the model with ``--threads`` threads (of PyTorch where the bulk
extra is installed, else onnxruntime: ``PAPERTIDE_DOCUMENT_ENGINE``) and waiting at a
barrier, run the worker's shared embedding (``papertide.worker.embedding.embed_shared``) at once.
Timed from the barrier to the last process's end; model loading is not timed. Prints docs/s, each
process's share, and the CPU model and flags, since the machines here differ and are shared.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from benchmarks.bulk_ingest import DURABILITY, cpu_description, load_average  # noqa: E402
from papertide.db import Database  # noqa: E402
from papertide.ingest.jsonl import JsonlSource  # noqa: E402
from papertide.ingest.runner import ingest  # noqa: E402

DEMO = REPO / "data" / "demo" / "papers.jsonl.gz"


def embed_in_child(url: str, name: str, embedder_name: str, threads: int, barrier, results) -> None:
    from papertide.search.semantic.registry import load_embedder
    from papertide.worker.embedding import embed_shared

    database = Database(url)
    embedder = load_embedder(embedder_name, threads=threads)
    embedder.embed_documents(["warm up the model"])
    barrier.wait()
    summary = embed_shared(database, embedder, name)
    results.put((name, summary.embedded, time.perf_counter()))


def catalog(url: str, papers: int, workdir: Path) -> None:
    import gzip

    path = workdir / f"papers-{papers}.jsonl"
    with gzip.open(DEMO, "rb") as corpus:
        path.write_bytes(b"".join(line for _, line in zip(range(papers), corpus)))
    database = Database(url)
    database.migrate()
    ingest(database, JsonlSource(path), progress=False)
    database.dispose()


def run(url: str, processes: int, args) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes + 1), context.Queue()
    children = [context.Process(target=embed_in_child, args=(url, f"p{n}", args.embedder, args.threads, barrier, results))
                for n in range(processes)]
    for child in children:
        child.start()
    barrier.wait()
    started = time.perf_counter()
    finished = [results.get() for _ in children]
    for child in children:
        child.join()
    seconds = max(end for _, _, end in finished) - started
    total = sum(count for _, count, _ in finished)
    shares = ", ".join(f"{name} {count:,}" for name, count, _ in sorted(finished))
    print(f"{processes} process(es) x {args.threads} thread(s): {total:,} documents in {seconds:.1f} s = "
          f"{total / seconds:,.1f} docs/s ({shares}); load {load_average()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--papers", type=int, default=1024)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--embedder", default="default")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="papertide-embed-bench-"))
    workdir.chmod(0o755)
    from papertide.config import get_settings
    from papertide.search.semantic.minilm import resolve_document_engine

    engine = resolve_document_engine(get_settings().document_engine)  # PAPERTIDE_DOCUMENT_ENGINE
    print(f"CPU: {cpu_description()}; {args.papers:,} demo abstracts; backend {args.backend}; documents on {engine}",
          flush=True)
    server = None
    if args.backend == "postgres":
        from papertide.local_postgres import THROWAWAY_SETTINGS, LocalPostgres

        server = LocalPostgres(workdir / "postgres", settings={k: v for k, v in THROWAWAY_SETTINGS.items() if k not in DURABILITY})
        server.start()
    try:
        for processes in map(int, args.processes.split(",")):
            if server:
                from sqlalchemy import create_engine, text

                admin = create_engine(server.url(), isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f"CREATE DATABASE bench_{processes}"))
                admin.dispose()
                url = server.url(f"bench_{processes}")
            else:
                url = f"sqlite:///{workdir}/bench-{processes}.db"
            catalog(url, args.papers, workdir)
            run(url, processes, args)
    finally:
        if server:
            server.close()


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
