"""``kill -9`` the worker in the middle of a harvest: once its lease expires another worker takes
the job over, resumes from the last stored page, and the catalog ends as after one clean run."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from papertide.catalog.checkpoints import load_checkpoint
from papertide.catalog.models import Paper
from papertide.search.semantic.models import PaperEmbedding
from papertide.worker import leases, sources
from tests.ingest.dump import canonical_dump
from tests.worker.conftest import OAI, SECOND, first_params, job_rows, job_runs, route_oai_chain, run, start, worker_env

UTC = timezone.utc
T0 = datetime(2026, 8, 19, 4, 0, tzinfo=UTC)
FIRST = first_params(date(2026, 8, 18), "math")


def math_only(database) -> None:
    sources.remove(database, "hf-daily")
    sources.add(database, sources.arxiv_category("math", backfill_days=1))


def counts(database) -> tuple[int, int]:
    with database.session() as session:
        return (session.scalar(select(func.count()).select_from(Paper)),
                session.scalar(select(func.count()).select_from(PaperEmbedding)))


@contextmanager
def caught_mid_harvest(database, replay, time, tmp_path) -> Iterator[subprocess.Popen]:
    """A worker called "runner" harvesting math, caught waiting for page two: page one is stored
    with its resumption token by then, and page two hangs until the test is done with the runner."""
    math_only(database)
    held = threading.Event()
    route_oai_chain(replay, date(2026, 8, 18), "math", held=held)
    second_page = replay.routes[(OAI, frozenset(SECOND.items()))][0]
    log = tmp_path / "runner.log"
    runner = start("worker", "--clock-file", str(time.path), "--name", "runner", env=worker_env(database, replay), log=log)
    try:
        assert second_page.served.wait(120), log.read_text()
        yield runner
    finally:
        if runner.poll() is None:
            runner.kill()
        held.set()


@pytest.mark.slow
def test_kill_9_mid_harvest_then_another_worker_resumes_it(database, make_database, replay, simulated, tmp_path):
    time = simulated(T0)
    env = worker_env(database, replay)
    with caught_mid_harvest(database, replay, time, tmp_path) as runner:
        with database.session() as session:
            assert load_checkpoint(session, next(iter(_oai_keys(database))))["resumptionToken"] == "1403493|1001"
        stored_before_kill = counts(database)[0]
        assert stored_before_kill > 0
        runner.send_signal(signal.SIGKILL)
        assert runner.wait(30) == -signal.SIGKILL
    row = job_rows(database)["source:arxiv-math"]
    assert (row.holder, row.lease_expires_at) == ("runner", T0 + leases.LEASE)

    time.set(T0 + leases.LEASE - timedelta(minutes=1))  # the lease still holds: no one else runs the job
    early = run("worker", "--once", "--clock-file", str(time.path), "--name", "successor", env=env)
    assert (early.returncode, early.stdout.strip()) == (0, "nothing due"), early.stderr

    time.set(T0 + leases.LEASE + timedelta(minutes=1))  # expired: taken over, resumed from page two
    late = run("worker", "--once", "--clock-file", str(time.path), "--name", "successor", env=env)
    assert late.returncode == 0, late.stdout + late.stderr
    assert [line.split(":")[0] for line in late.stdout.splitlines()] == ["source", "search-index"]
    asked = Counter(tuple(sorted(r.params.items())) for r in replay.requests)
    assert asked[tuple(sorted(FIRST.items()))] == 1  # not started over
    assert asked[tuple(sorted(SECOND.items()))] == 2  # the killed request, then the successor's
    runs = [(r.holder, r.status, r.slot) for r in job_runs(database, "source:arxiv-math")]
    assert runs == [("runner", "interrupted", T0), ("successor", "ok", T0)]  # one slot, finished once

    clean = make_database()
    math_only(clean)
    once = run("worker", "--once", "--clock-file", str(time.path), env=worker_env(clean, replay))
    assert once.returncode == 0, once.stderr
    assert canonical_dump(database) == canonical_dump(clean)  # nothing lost, nothing doubled
    papers, embedded = counts(database)
    assert papers == embedded == counts(clean)[0] > stored_before_kill


def _oai_keys(database) -> list[str]:
    from papertide.catalog.models import HarvestCheckpoint

    with database.session() as session:
        return [key for key in session.scalars(select(HarvestCheckpoint.key)) if key.startswith("oai-pmh")]


def test_a_stopped_worker_gives_its_lease_back_at_once(database, replay, simulated, tmp_path):
    """SIGTERM (systemd, docker, serve --worker stopping) mid-harvest: the job is free again now,
    not in five minutes, and the next worker resumes it at the same moment."""
    time = simulated(T0)
    env = worker_env(database, replay)
    with caught_mid_harvest(database, replay, time, tmp_path) as runner:
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(60) == 0, (tmp_path / "runner.log").read_text()
    row = job_rows(database)["source:arxiv-math"]
    assert (row.holder, row.next_run_at) == (None, T0)  # free, and still due
    follow = run("worker", "--once", "--clock-file", str(time.path), "--name", "next", env=env)  # the clock has not moved
    assert follow.returncode == 0 and follow.stdout.startswith("source:arxiv-math: added "), follow.stdout + follow.stderr
    assert [(r.holder, r.status) for r in job_runs(database, "source:arxiv-math")] == [("runner", "interrupted"), ("next", "ok")]
