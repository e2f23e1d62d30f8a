"""arXiv's pacing holds for the installation: a worker's harvests and a ``papertide harvest`` run
at the same time, in two processes, take their turns from the one queue in the database."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from sqlalchemy import select

from papertide.db import dialect_insert
from papertide.catalog.models import SourcePacing
from papertide.worker import sources
from tests.conftest import REPO
from tests.ingest.conftest import ATOM, recorded
from tests.ingest.replay import Reply
from tests.worker.conftest import papertide, worker_env

DELAY = 0.5
HOLD = 15.0  # seconds the queue is held: long enough for both processes to start on a busy machine
IDS = {"1605.08386": "id_1605.08386_s0_m100_199195aa31ad", "1707.08567": "id_1707.08567_s0_m100_6a1afebfc6a3",
       "2104.12255v1": "id_2104.12255v1_s0_m100_6ae69987ffe1"}
SEARCH_PAGES = [("0", "30", "q_testing_s0_m10_bc5a6c384fe9"), ("10", "20", "q_testing_s10_m10_34e56e15aaac"),
                ("20", "10", "q_testing_s20_m10_348a237fecab")]


def next_turn(database) -> float:
    with database.session() as session:
        return session.scalar(select(SourcePacing.next_request_at).where(SourcePacing.host == "127.0.0.1"))


def atom(name: str) -> Reply:
    return Reply.file(recorded(f"arxiv_api/{name}.atom.xml"), ATOM)


@pytest.mark.slow
def test_a_worker_and_a_harvest_share_one_queue_at_arxiv(database, replay):
    sources.remove(database, "hf-daily")
    for n, (arxiv_id, recording) in enumerate(IDS.items()):
        sources.add(database, sources.arxiv_ids(f"ids-{n}", [arxiv_id]))
        replay.route("/api/query", {"search_query": "", "id_list": arxiv_id, "start": "0", "max_results": "1"}, atom(recording))
    for start, size, recording in SEARCH_PAGES:
        replay.route("/api/query", {"search_query": "testing", "start": start, "max_results": size}, atom(recording))
    # Someone (a third process) holds the queue for a while: neither may go before that turn.
    first_turn = time.time() + HOLD
    with database.session() as session:
        session.execute(dialect_insert(session, SourcePacing.__table__).values(host="127.0.0.1", next_request_at=first_turn))

    env = worker_env(database, replay, PAPERTIDE_ARXIV_DELAY=str(DELAY))
    processes = [
        subprocess.Popen(papertide("worker", "--once", "--quiet"), env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        subprocess.Popen(papertide("harvest", "arxiv-search", "testing", "--max", "30", "--delay", str(DELAY), "--quiet"),
                         env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
    ]
    # Both processes take their first turn from the database queue before it opens.
    queued = threading.Event()
    while time.time() < first_turn - 0.5 and not queued.is_set():
        if next_turn(database) >= first_turn + 2 * DELAY - 1e-6:
            queued.set()
        queued.wait(0.05)
    assert queued.is_set(), f"by the first turn, {round((next_turn(database) - first_turn) / DELAY)} of 2 processes had queued"
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, (out + err).decode()
    arrivals = sorted(request.at for request in replay.requests)
    assert len(arrivals) == len(IDS) + len(SEARCH_PAGES)
    # The n-th request to arrive came no earlier than the n-th turn of one shared queue. Pacing
    # only themselves, each process would have sent its first request at once, side by side.
    late = [(n, round(arrived - (first_turn + n * DELAY), 3)) for n, arrived in enumerate(arrivals)
            if arrived < first_turn + n * DELAY - 0.005]
    assert late == [], late
