"""Pacing shared by every process: two harvests (or a harvest and the web's "submit a paper")
take turns at arXiv instead of each keeping 3 s only from its own previous request."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from papertide.community import accounts, submissions
from papertide.ingest.pacing import DatabasePacer
from tests.conftest import REPO
from tests.ingest.replay import Reply

NOW = datetime(2025, 8, 21, 9, 0, tzinfo=timezone.utc)


def test_turns_at_one_host_are_delay_apart_and_hosts_are_independent(database):
    now = [1_000.0]
    pacer = DatabasePacer(database, clock=lambda: now[0])
    assert [pacer.reserve("export.arxiv.org", 3.0) for _ in range(3)] == [0.0, 3.0, 6.0]
    assert pacer.reserve("huggingface.co", 1.0) == 0.0
    now[0] += 4.0  # turns at 1000, 1003, 1006 are taken; the next is 1009
    assert pacer.reserve("export.arxiv.org", 3.0) == 5.0
    now[0] += 60.0  # long after: no waiting, and the turn after it is 3 s later
    assert pacer.reserve("export.arxiv.org", 3.0) == 0.0
    assert pacer.reserve("export.arxiv.org", 3.0) == 3.0


FETCHER = """
import sys, time
from papertide.db import Database
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.pacing import DatabasePacer

class Reporting(DatabasePacer):
    def reserve(self, host, delay):
        now = time.time()
        self.clock = lambda: now
        wait = super().reserve(host, delay)
        print("turn", repr(now + wait), flush=True)  # when this request may go
        return wait

url, database_url, count, delay = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fetcher = PoliteFetcher(delay=delay, pacer=Reporting(Database(database_url)))
print("ready", flush=True)
sys.stdin.readline()  # the test starts every process at once
for _ in range(count):
    fetcher.get(url)
"""


def test_two_processes_take_turns_at_the_same_host(replay, database):
    replay.route("/api/query", {}, Reply(200, b"<feed/>", {"Content-Type": "application/atom+xml"}))
    delay, per_process = 0.3, 3
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    processes = [
        subprocess.Popen([sys.executable, "-c", FETCHER, replay.url + "/api/query", database.url, str(per_process), str(delay)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, cwd=REPO, text=True)
        for _ in range(2)
    ]
    for process in processes:
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    turns = []
    for process in processes:
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        turns.extend(float(line.split()[1]) for line in output.splitlines() if line.startswith("turn "))
    turns.sort()
    arrivals = sorted(request.at for request in replay.requests)
    assert len(turns) == len(arrivals) == 2 * per_process
    # One queue for both processes: turns are at least the delay apart, whichever process took
    # them (each pacing only itself, the two would start side by side, 0 s apart) ...
    assert all(later - earlier >= delay - 1e-6 for earlier, later in zip(turns, turns[1:])), turns
    # ... and no request went out before its turn (however late a busy machine sent it).
    assert all(arrived >= turn - 0.005 for turn, arrived in zip(turns, arrivals)), (turns, arrivals)


@pytest.mark.sqlite_only
def test_a_submission_does_not_hold_the_write_lock_while_arxiv_answers(database, tmp_path):
    """On SQLite a transaction that has written holds the file's one write lock: a submission
    that asked arXiv inside it would make every vote in every worker wait for arXiv."""
    import sqlite3

    from tests.catalog.helpers import make_record

    with database.session() as session:
        user = accounts.sign_up(session, "reader", "correct horse battery staple")
    path = database.url.removeprefix("sqlite:///")
    others_could_write = []

    def fetch(arxiv_id):
        other = sqlite3.connect(path, timeout=0.5)  # another worker wanting to record a vote now
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            others_could_write.append(True)
        except sqlite3.OperationalError:
            others_could_write.append(False)
        finally:
            other.close()
        return make_record(arxiv_id, "Fetched from arXiv", day=None)

    result = submissions.submit(database, user.id, "2508.09999", fetch, now=NOW)
    assert result.fetched and others_could_write == [True]
