"""``papertide serve`` with the real model in its query process, through real HTTP; and no orphan
left when the server is killed with SIGKILL (it gets no chance to stop its children itself)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from papertide.local_postgres import free_port
from papertide.search.semantic.registry import load_embedder
from papertide.search.semantic.indexer import index_papers
from tests.db.test_workers import children_of, wait_until_serving

from .helpers import add_papers
from .test_query_process import GRASPING, MEANING_ONLY, gone, wait_for


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


@pytest.mark.slow
def test_the_server_searches_by_meaning_through_its_query_process_and_leaves_no_orphan(database):
    add_papers(database)
    index_papers(database, load_embedder("default", threads=1), progress=False)
    port = free_port()
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": database.url, "PAPERTIDE_SECRET_KEY": "test-secret",
           "PAPERTIDE_EMBEDDER": "default", "PAPERTIDE_QUERY_EMBEDDER": "process"}
    server = subprocess.Popen([sys.executable, "-m", "papertide", "serve", "--port", str(port), "--no-access-log"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    children: list[int] = []
    try:
        wait_until_serving(base + "/", server)
        answer = httpx.get(f"{base}/api/papers/search", params={"q": MEANING_ONLY}, timeout=60)
        assert answer.status_code == 200
        found = [item["paper"]["id"] for item in answer.json()]
        assert found and found[0] == GRASPING  # no word in common: only the model finds it

        children = children_of(server.pid)
        embedders = [pid for pid in children if "spawn_main" in cmdline(pid)]
        assert len(embedders) == 1, [cmdline(pid) for pid in children]
        assert "onnxruntime" in Path(f"/proc/{embedders[0]}/maps").read_text()  # the model lives there ...
        assert "onnxruntime" not in Path(f"/proc/{server.pid}/maps").read_text()  # ... not in the server

        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        for pid in children:  # the query process and multiprocessing's resource tracker
            wait_for(lambda: gone(pid), seconds=30, what=f"exit of {cmdline(pid)!r} (pid {pid})")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
        for pid in children:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
