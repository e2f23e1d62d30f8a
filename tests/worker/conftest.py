"""Worker test kit: upstreams replayed from a real HTTP server, a simulated clock that real worker
processes share (a file), and ``papertide worker`` started as a user starts it.

The upstreams: Hugging Face ``daily_papers`` responses built from the shared corpus
(``fixtures/hf_daily``) and the recorded arXiv OAI-PMH pages (``fixtures/recorded``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from papertide.config import Settings
from papertide.db import Database
from papertide.worker.clock import FileClock
from papertide.worker.models import JobRun, WorkerJob
from tests.conftest import FIXTURES, REPO
from tests.digest.conftest import papers, sink, smtp_server  # noqa: F401 (fixtures shared with the digest tests)
from tests.ingest.conftest import JSON, XML, recorded, replay  # noqa: F401 (replay is a fixture)
from tests.ingest.replay import Reply

HF_DAYS = FIXTURES / "hf_daily"
SECRET = "worker-tests-secret"
OAI = "/oai"
FIRST_PAGE = "arxiv_oai/litpuvn_ListRecords_arXivRaw.xml"  # 387 records, then token 1403493|1001
SECOND = {"verb": "ListRecords", "resumptionToken": "1403493|1001"}
LAST = {"verb": "ListRecords", "resumptionToken": "726959|1001"}


def hf_reply(day: str) -> Reply:
    return Reply.file(HF_DAYS / f"daily_papers_{day}.json", JSON)


def route_hf(replay, days: dict[date, str]) -> None:
    """Answer ``daily_papers?date=D`` with the corpus day ``days[D]`` (any other day: 404)."""
    for asked, corpus_day in days.items():
        replay.route("/api/daily_papers", {"date": asked.isoformat()}, hf_reply(corpus_day))


def oai_page(name: str) -> Reply:
    return Reply.file(recorded(name), XML)


def first_params(from_day: date, oai_set: str) -> dict[str, str]:
    return {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": from_day.isoformat(), "set": oai_set}


def route_oai_chain(replay, from_day: date, oai_set: str, *, held: threading.Event | None = None) -> None:
    """A three-page harvest (two recorded pages, then the constructed last one). With ``held``,
    the first request for page two hangs until the test sets it; the next one is answered."""
    replay.route(OAI, first_params(from_day, oai_set), oai_page(FIRST_PAGE))
    second = oai_page("arxiv_oai/mikesaelim_ListRecordsResponse.xml")
    replay.route(OAI, SECOND, *([replace(second, hold=held, served=threading.Event()), second] if held else [second]))
    replay.route(OAI, LAST, oai_page("constructed/oai_last_page_arXivRaw.xml"))


def settings_for(database: Database, replay, **overrides) -> Settings:
    return Settings(database_url=database.url, secret_key=SECRET, hf_api_url=replay.url + "/api",
                    arxiv_oai_url=replay.url + OAI, arxiv_api_url=replay.url + "/api/query",
                    arxiv_delay=0.0, hf_delay=0.0, embedder="hash", **overrides)


def worker_env(database: Database, replay, **extra: str) -> dict[str, str]:
    """The environment of a worker process pointed at the replay server (settings as in ``settings_for``)."""
    return {
        **os.environ, "PYTHONPATH": str(REPO / "src"), "PAPERTIDE_DATABASE_URL": database.url,
        "PAPERTIDE_SECRET_KEY": SECRET, "PAPERTIDE_HF_API_URL": replay.url + "/api",
        "PAPERTIDE_ARXIV_OAI_URL": replay.url + OAI, "PAPERTIDE_ARXIV_API_URL": replay.url + "/api/query",
        "PAPERTIDE_ARXIV_DELAY": "0", "PAPERTIDE_HF_DELAY": "0", "PAPERTIDE_EMBEDDER": "hash", **extra,
    }


def papertide(*args: str) -> list[str]:
    return [sys.executable, "-c", "from papertide.cli import main; main()", *args]


def run(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(papertide(*args), env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def start(*args: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as output:
        return subprocess.Popen(papertide(*args), env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)


class SimulatedTime:
    """The time every worker started with ``--clock-file`` reads; the test moves it."""

    def __init__(self, path: Path, start: datetime):
        self.path = path
        self.set(start)

    def set(self, when: datetime) -> None:
        FileClock.write(self.path, when)
        self.now = when

    @property
    def clock(self) -> FileClock:
        return FileClock(self.path)


@pytest.fixture
def simulated(tmp_path) -> Callable[[datetime], SimulatedTime]:
    return lambda start: SimulatedTime(tmp_path / "clock", start)


def wait_until(condition: Callable[[], bool], *, timeout: float, processes: list[subprocess.Popen] = (), what: str = "",
               state: Callable[[], object] = lambda: "") -> None:
    """Wait for ``condition`` (checked every 20 ms), failing at once if a worker process died;
    ``state`` says what things looked like when it failed."""
    pause, deadline = threading.Event(), datetime.now().timestamp() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"a worker exited with status {process.returncode} while waiting for {what}: {state()}")
        if datetime.now().timestamp() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}: {state()}")
        pause.wait(0.02)


def job_table(database: Database) -> str:
    """The jobs' rows, one line each, for failure messages."""
    return "\n".join(f"{name}: next {row.next_run_at} held by {row.holder} until {row.lease_expires_at}, "
                     f"asked {row.requests}/{row.served}" for name, row in sorted(job_rows(database).items()))


def job_rows(database: Database) -> dict[str, WorkerJob]:
    with database.session() as session:
        return {job.name: job for job in session.scalars(select(WorkerJob))}


def job_runs(database: Database, job: str | None = None) -> list[JobRun]:
    with database.session() as session:
        query = select(JobRun).order_by(JobRun.id)
        return list(session.scalars(query.where(JobRun.job == job) if job else query))
