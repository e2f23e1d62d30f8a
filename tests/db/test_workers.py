"""Several stateless web workers on one database while ingest writes to it."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from papertide.catalog.models import Paper
from tests.db.test_concurrent_writers import corpus_slice

WORKERS = 3
READERS = 3
TIME_LIMIT = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def wait_until_serving(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read()
        try:
            if httpx.get(base, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # readiness polling
    raise AssertionError("the site did not come up")


def papers_shown(page: str) -> int:
    return int(page.split("<p>")[1].split(" papers")[0].replace(",", ""))


def test_three_workers_serve_every_request_while_ingest_runs(database, tmp_path):
    source = tmp_path / "papers.jsonl"
    expected = len(set(corpus_slice(source, 1500)))
    port = free_port()
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": database.url, "PAPERTIDE_SECRET_KEY": "test-secret"}
    server = subprocess.Popen(
        [sys.executable, "-m", "papertide", "serve", "--port", str(port), "--workers", str(WORKERS)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_until_serving(base, server)
        assert len(children_of(server.pid)) >= WORKERS

        ingest_done = threading.Event()
        failures: list[str] = []
        seen: list[list[int]] = [[] for _ in range(READERS)]

        def read(index: int) -> None:
            deadline = time.monotonic() + TIME_LIMIT
            with httpx.Client(timeout=30) as client:
                while not ingest_done.is_set() and time.monotonic() < deadline:
                    response = client.get(base)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code}: {response.text[:200]}")
                        continue
                    seen[index].append(papers_shown(response.text))

        readers = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
        for reader in readers:
            reader.start()
        ingest = subprocess.run([sys.executable, "-m", "papertide", "ingest", "--quiet", str(source)],
                                env=env, capture_output=True, text=True, timeout=TIME_LIMIT)
        ingest_done.set()
        for reader in readers:
            reader.join()
        final = httpx.get(base, timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert ingest.returncode == 0, ingest.stderr
    assert failures == []
    assert all(counts == sorted(counts) for counts in seen), "a reader saw the catalog shrink"
    assert sum(map(len, seen)) >= READERS
    assert papers_shown(final.text) == expected
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Paper)) == expected
