"""A real papertide site for browser tests and screenshots: a database (the test backend's, or a
temporary SQLite file) holding a few hundred papers of the demo corpus, served by uvicorn in a
child process on a free port.

Also the one place that knows how to start Debian's chromium for Playwright: the system browser
(``executable_path``), never a downloaded one.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.sync_api import expect

from papertide.catalog.upsert import upsert_papers
from papertide.db import Database
from papertide.ingest.jsonl import record_from_mapping

REPO = Path(__file__).resolve().parents[3]
DEMO_CORPUS = REPO / "data" / "demo" / "papers.jsonl.gz"
CHROMIUM = os.environ.get("PAPERTIDE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PAPERS = 300  # the newest papers of the demo corpus: a few weeks of daily lists
OFF_LIST = 4  # of those, kept in the catalog but off the daily list, for tests to submit
SECRET = "papertide-browser-test-secret"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Site:
    base_url: str
    database: Database
    submittable: tuple[str, ...]  # arXiv ids in the catalog but not on the daily list


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_demo(database: Database, count: int = PAPERS, off_list: int = OFF_LIST) -> tuple[str, ...]:
    """Load the newest ``count`` demo papers of the daily list; the ``off_list`` oldest of them without a daily entry."""
    with gzip.open(DEMO_CORPUS, "rt", encoding="utf-8") as lines:
        rows = [row for row in map(json.loads, lines) if row.get("daily_date")]
    rows.sort(key=lambda row: (row.get("daily_date") or "", row["arxiv_id"]))
    records = [record_from_mapping(row) for row in rows[-count:]]
    spare = [record.model_copy(update={"daily": None}) for record in records[:off_list]]
    with database.session() as session:
        upsert_papers(session, spare + records[off_list:])
    return tuple(record.arxiv_id for record in spare)


def wait_until_ready(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll the health endpoint until it answers (or the server dies, or time runs out)."""
    deadline = time.monotonic() + timeout
    for attempt in itertools.count():
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was ready")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} was not ready within {timeout:.0f}s")
        time.sleep(min(0.05 * (attempt + 1), 0.5))  # polling interval, not synchronisation


@contextmanager
def serve_demo(directory: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None,
               database: Database | None = None) -> Iterator[Site]:
    """The demo papers in ``database`` (a migrated one, e.g. on the test backend; default: a new
    SQLite file in ``directory``), served until the block ends."""
    if database is None:
        database = Database(f"sqlite:///{directory / 'papertide.db'}")
        database.migrate()
    url = database.url
    submittable = load_demo(database)
    port = free_port()
    env = {
        **os.environ,
        "PAPERTIDE_DATABASE_URL": url,
        "PAPERTIDE_SECRET_KEY": SECRET,
        "PAPERTIDE_BASE_URL": f"http://127.0.0.1:{port}",
        "PAPERTIDE_RATE_LIMIT_SCALE": "0",  # tests sign up many accounts from one address
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])),
        **(extra_env or {}),
    }
    command = [sys.executable, "-m", "uvicorn", "papertide.web.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, cwd=directory)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/healthz", process)
        yield Site(f"http://127.0.0.1:{port}", database, submittable)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        database.dispose()


def enter_account(page, path: str, username: str, password: str = PASSWORD) -> None:
    """Sign up (``/signup``) or log in (``/login``) through the form, and see the name in the top bar."""
    page.goto(path)
    page.fill("#username", username)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("current-user")).to_have_text(username)


def launch_chromium(playwright):
    """Debian's chromium, headless. Fails loudly when it is missing (``scripts/install-system-deps``)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found: run scripts/install-system-deps (Debian package 'chromium')")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
