"""What weighting the pairs costs the exact FTS5 keyword path (phrase_weight.py).

    python benchmarks/keyword_pair_cost.py --corpus C --queries Q [--repeat 3]

FTS5's ``bm25()`` has no per-phrase weight, so pairs at half weight are sent as every word twice
plus every pair once: more phrases for FTS5 to count and score. The corpus is loaded into a
temporary migrated SQLite database (below 100k papers: the exact path) and every query is run
both ways, alternating; printed: CPU ms per query (p50, p90, mean) for the plain OR of words and
pairs and for the weighted expression, and the machine's load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import search_quality as sq  # noqa: E402

from papertide.db import Database  # noqa: E402
from papertide.search.filters import SqlFilter  # noqa: E402
from papertide.search.keyword.fts5 import fts5_expression, match_any  # noqa: E402
from papertide.search.keyword.fts5_budget import fts5_ranked  # noqa: E402
from papertide.search.keyword.terms import query_phrases  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    docs, queries = sq.read_jsonl(args.corpus), sq.read_jsonl(args.queries)
    expressions = {
        "plain OR (pairs x1)": match_any,
        "weighted (words x2)": fts5_expression,
    }
    times = {name: [] for name in expressions}
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{tmp}/cost.db")
        database.migrate()
        sq.load_corpus(database, docs)
        print(f"{len(docs):,} papers, {len(queries)} queries, load average before {os.getloadavg()[0]:.1f}", flush=True)
        with database.session() as session:
            for _ in range(args.repeat):
                for query in queries:
                    phrases = query_phrases(query["text"])
                    for name, build in expressions.items():
                        started = time.process_time()
                        fts5_ranked(session, build(phrases), SqlFilter(), 100)
                        times[name].append((time.process_time() - started) * 1000)
        database.dispose()
    print(f"load average after {os.getloadavg()[0]:.1f}")
    print(f"{'expression':<22} {'p50':>7} {'p90':>7} {'mean':>7}  (CPU ms per query, FTS5 top 100)")
    for name, values in times.items():
        v = np.array(values)
        print(f"{name:<22} {np.percentile(v, 50):>7.2f} {np.percentile(v, 90):>7.2f} {v.mean():>7.2f}")


if __name__ == "__main__":
    main()
