"""Several stateless web workers on one database while ingest writes to it."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from papertide.catalog.models import Paper
from papertide.local_postgres import free_port
from tests.db.test_concurrent_writers import corpus_slice

WORKERS = 3
READERS = 3
TIME_LIMIT = 120.0


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


def is_listed(client, base: str, arxiv_id: str) -> int:
    """1 when the site knows the paper, 0 while it does not (yet); anything else is a failure."""
    response = client.get(f"{base}api/papers/{arxiv_id}")
    assert response.status_code in (200, 404), f"{response.status_code}: {response.text[:200]}"
    return int(response.status_code == 200)


@pytest.mark.slow
def test_three_workers_serve_every_request_while_ingest_runs(database, tmp_path):
    source = tmp_path / "papers.jsonl"
    ids = corpus_slice(source, 1500)
    expected, last = len(set(ids)), ids[-1]
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
                    seen[index].append(is_listed(client, base, last))

        readers = [threading.Thread(target=read, args=(i,)) for i in range(READERS)]
        for reader in readers:
            reader.start()
        ingest = subprocess.run([sys.executable, "-m", "papertide", "ingest", "--quiet", str(source)],
                                env=env, capture_output=True, text=True, timeout=TIME_LIMIT)
        ingest_done.set()
        for reader in readers:
            reader.join()
        with httpx.Client(timeout=30) as client:
            final = is_listed(client, base, last)
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert ingest.returncode == 0, ingest.stderr
    assert failures == []
    assert all(listed == sorted(listed) for listed in seen), "a paper disappeared while ingest ran"
    assert sum(map(len, seen)) >= READERS
    assert final == 1
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Paper)) == expected
