"""Where the CPU of one unique search page goes: the /search page served in-process, one request
at a time, every request a distinct URL (web_load.py's "rendered" search: its 15 queries in turn),
and the CPU of each part, in ms per request (median of the rounds):

* the search service (``search_answer``), and within it each step of its trace (``search.trace``);
* the rows the page shows (``feed.items_by_ids``), the organisation menu and the template;
* the whole request in the worker (the test client's own work included), and the query process
  (the query embedding) beside it.

    python benchmarks/search_page_cpu.py                       # the demo corpus, as web_load.py builds it
    python benchmarks/search_page_cpu.py --database sqlite:///papertide.db --requests 300 --rounds 5

CPU time is thread time for the parts, process time for the wholes: less sensitive to other work
on the machine than wall time, but not immune (two hardware threads share a core).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from web_load import SEARCHES, build_database  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User and system CPU of one process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a database URL (default: the demo corpus in a fresh SQLite file)")
    parser.add_argument("--requests", type=int, default=150, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="papertide-search-cpu-")
    os.environ["PAPERTIDE_DATABASE_URL"] = args.database or build_database(Path(workdir))
    os.environ.setdefault("PAPERTIDE_SECRET_KEY", "benchmark-secret-" + "x" * 32)

    from starlette.testclient import TestClient

    from papertide.search import trace
    from papertide.web.app import create_served_app
    from papertide.web.pages import search as page

    logging.disable(logging.INFO)
    parts: dict[str, float] = defaultdict(float)

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                parts[name] += time.thread_time() - started
        return wrapper

    page.search_answer = timed("search service", page.search_answer)
    page.feed.items_by_ids = timed("rows of the page (items_by_ids)", page.feed.items_by_ids)
    page.organization_choices = timed("organisation menu", page.organization_choices)
    page.render_page = timed("template (render_page)", page.render_page)
    results: dict[str, list[float]] = defaultdict(list)
    with TestClient(create_served_app()) as client:
        for i in range(3 * len(SEARCHES)):  # the model, the vectors, the lexicon, the templates
            client.get(f"/search?q={SEARCHES[i % len(SEARCHES)]}&_n=warm{i}")
        me = os.getpid()
        children = [int(pid) for pid in Path(f"/proc/{me}/task/{me}/children").read_text().split()]
        for round_ in range(args.rounds):
            parts.clear()
            steps: dict[str, float] = defaultdict(float)
            worker, beside = cpu_seconds(me), sum(cpu_seconds(pid) for pid in children)
            for i in range(args.requests):
                with trace.capture() as spans:
                    response = client.get(f"/search?q={SEARCHES[i % len(SEARCHES)]}&_n={round_}_{i}")
                assert response.status_code == 200, response.status_code
                for span in spans:
                    steps[span.name] += span.cpu_ms / 1000
            per_request = 1000 / args.requests
            results["whole request, worker process"].append((cpu_seconds(me) - worker) * per_request)
            results["query process (embedding)"].append((sum(cpu_seconds(pid) for pid in children) - beside) * per_request)
            for name, seconds in parts.items():
                results[name].append(seconds * per_request)
            for name, seconds in steps.items():
                results[f"  search: {name}"].append(seconds * per_request)
    print(f"{args.requests} unique searches x {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}; "
          "CPU ms per request, median of the rounds")
    for name, values in results.items():
        print(f"{name:45s} {statistics.median(values):7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
