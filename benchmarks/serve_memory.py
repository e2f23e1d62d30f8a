"""Memory of ``papertide serve``: each process's RSS with queries embedded in-process or in a child.

    PAPERTIDE_DATABASE_URL=sqlite:///demo.db python benchmarks/serve_memory.py [--workers 1,2] [--modes inline,process]

For each worker count and ``PAPERTIDE_QUERY_EMBEDDER`` mode, starts the server, runs a few
searches (so every worker has loaded what queries need: the model or its query process, the
vectors), then prints the RSS and PSS of every process of the server's tree (PSS counts pages
shared between processes once), by role: the uvicorn supervisor, web workers, query embedders.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

QUERIES = ["sparse attention for long documents", "protein structure prediction", "robots that grasp objects",
           "speech recognition in noise", "graph neural networks for molecules", "retrieval augmented generation"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(root: int) -> list[tuple[int, int]]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
    found, frontier, depth = [(root, 0)], [root], 0
    while frontier:
        depth += 1
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += [(pid, depth) for pid in frontier]
    return found


def memory_mb(pid: int) -> tuple[float, float]:
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:"))
    pss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines() if line.startswith("Pss:"))
    return rss / 1024, pss / 1024


def role(pid: int, depth: int, workers: int) -> str:
    """What a process of the server's tree is: uvicorn runs the app in the server itself for one
    worker, in spawned worker processes for more; each app process spawns its query embedder."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "resource_tracker" in command:
        return "resource tracker"
    app_depth = 0 if workers == 1 else 1
    return {0: "server", app_depth: "web worker" if workers > 1 else "server (web worker)", app_depth + 1: "query embedder"}[depth]


def measure(workers: int, mode: str) -> None:
    port = free_port()
    env = {**os.environ, "PAPERTIDE_QUERY_EMBEDDER": mode, "PAPERTIDE_SECRET_KEY": os.environ.get("PAPERTIDE_SECRET_KEY", "bench")}
    server = subprocess.Popen([sys.executable, "-m", "papertide", "serve", "--port", str(port), "--workers", str(workers),
                               "--no-access-log"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            while True:
                try:
                    client.get("/")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not come up")
                    time.sleep(0.2)  # readiness polling
            for _ in range(10 * workers):  # new connections spread over the workers
                for query in QUERIES:
                    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as fresh:
                        fresh.get("/api/papers/search", params={"q": query})
        totals = [0.0, 0.0]
        for pid, depth in tree(server.pid):
            rss, pss = memory_mb(pid)
            totals[0] += rss
            totals[1] += pss
            print(f"workers={workers} {mode:<8} {role(pid, depth, workers):<19} pid {pid:>7}  RSS {rss:7.0f} MB  PSS {pss:7.0f} MB")
        print(f"workers={workers} {mode:<8} {'total':<19} {'':>11}  RSS {totals[0]:7.0f} MB  PSS {totals[1]:7.0f} MB", flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--modes", default="inline,process")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    for workers in (int(w) for w in args.workers.split(",")):
        for mode in args.modes.split(","):
            measure(workers, mode)


if __name__ == "__main__":
    main()
