"""Many workers, one truth: votes through ``papertide serve --workers 3`` end with exact counts.

A real multi-process server (uvicorn workers sharing nothing but the database) on the test
backend, and 20 accounts signed up through the site voting at once, through the JSON API and
through the form, each in its own order, several toggling a vote on and off again. Which worker
served a request is read from the kernel, not from the app: the server's child process that
holds the other end of the client's TCP connection (``/proc/<pid>/fd`` and ``/proc/net/tcp``).
The test asserts that the requests were spread over several workers, then that every worker
and the database agree on exact counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from papertide.catalog.models import Paper
from papertide.community.models import User, Vote
from papertide.local_postgres import free_port
from tests.db.test_workers import children_of, wait_until_serving
from tests.catalog.helpers import MON, make_record, seed
from tests.web.helpers import Visitor

pytestmark = pytest.mark.slow

WORKERS = 3
ACCOUNTS = 20
PAPERS = [f"2508.3{n:04d}" for n in range(14)]
ONCE, TWICE = PAPERS[:12], PAPERS[12:]  # every account upvotes 12 papers, and turns 2 on and off again
WAYS = ("api", "form-json", "form")  # POST /api/papers/{id}/vote; the form asking for JSON; the plain form (303)


# -- which process holds a connection -------------------------------------------------------


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def connection_owner(server_pid: int, server_port: int, client_port: int) -> int | None:
    """The server process (one of ``server_pid``'s children) holding the server end of the TCP
    connection from ``client_port``, found as the kernel sees it; None if no process does."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if _port(fields[1]) == server_port and _port(fields[2]) == client_port:
            inodes.add(fields[9])
    for pid in children_of(server_pid):
        try:
            links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
        except OSError:  # a file descriptor closed while we looked
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return pid
    return None


class Client:
    """One account's browser: its cookies and CSRF token, and the worker behind each of its requests."""

    def __init__(self, base: str, server: subprocess.Popen, port: int):
        self.http = httpx.Client(base_url=base, timeout=120)
        self.visitor = Visitor(self.http)
        self.server, self.port = server, port
        self.owners: dict[int, int | None] = {}  # client port -> worker pid
        self.served_by: list[int | None] = []

    def note_worker(self, response: httpx.Response) -> httpx.Response:
        """Record which worker answered: the connection is open (keep-alive) as the answer arrives."""
        client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        if client_port not in self.owners:
            self.owners[client_port] = connection_owner(self.server.pid, self.port, client_port)
        self.served_by.append(self.owners[client_port])
        return response

    def vote(self, arxiv_id: str, way: str) -> httpx.Response:
        if way == "api":
            answer = self.http.post(f"/api/papers/{arxiv_id}/vote", headers={"X-CSRF-Token": self.visitor.csrf})
        else:
            answer = self.visitor.post(f"/papers/{arxiv_id}/vote", json_api=way == "form-json")
        return self.note_worker(answer)


def read_through_workers(base: str, server, port: int, upvotes: dict[str, int], until: int | set[int],
                         connections: int = 100) -> set[int]:
    """Read every paper's count through fresh connections (each one to the worker that accepts it)
    until ``until`` workers (or every worker of the set ``until``) have answered, or ``connections``
    were made; each answer must be exact. Returns the workers that answered."""
    answered: set[int] = set()
    for _connection in range(connections):
        reader = Client(base, server, port)
        with reader.http:
            for arxiv_id, count in upvotes.items():
                answer = reader.note_worker(reader.http.get(f"/api/papers/{arxiv_id}"))
                assert answer.status_code == 200 and answer.json()["upvotes"] == count, (arxiv_id, reader.served_by[-1])
        answered.update(pid for pid in reader.served_by if pid is not None)
        if (len(answered) >= until) if isinstance(until, int) else (answered >= until):
            break
    return answered


def test_20_accounts_voting_through_3_workers_end_with_exact_counts_everywhere(database):
    seed(database, [make_record(arxiv_id, f"Paper number {n}", day=MON, upvotes=n) for n, arxiv_id in enumerate(PAPERS)])
    port = free_port()
    env = {**os.environ, "PAPERTIDE_DATABASE_URL": database.url, "PAPERTIDE_SECRET_KEY": "test-secret",
           "PAPERTIDE_RATE_LIMIT_SCALE": "100", "PAPERTIDE_EMBEDDER": "hash"}  # no model to load: this is about votes
    server = subprocess.Popen(
        [sys.executable, "-m", "papertide", "serve", "--port", str(port), "--workers", str(WORKERS), "--no-access-log"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    clients: list[Client] = []
    try:
        wait_until_serving(base + "/", server)
        workers = set(children_of(server.pid))
        assert len(workers) >= WORKERS
        # Anonymous readers first: the API answers with the counts before the votes land in the
        # page cache of (at least two) workers.
        before = {arxiv_id: n for n, arxiv_id in enumerate(PAPERS)}
        warmed = read_through_workers(base, server, port, before, until=WORKERS)
        assert len(warmed) >= 2 and warmed <= workers, f"the readers reached only {warmed} of {workers}"
        clients = [Client(base, server, port) for _ in range(ACCOUNTS)]
        start = threading.Barrier(ACCOUNTS)

        def one_account(n: int) -> list[tuple[str, str, int, bool | None]]:
            client = clients[n]
            client.note_worker(client.visitor.sign_up(f"voter{n:02d}"))
            order = ONCE[n % len(ONCE):] + ONCE[:n % len(ONCE)]  # each its own order: votes on a paper interleave
            plan = [*order[:6], *TWICE, *order[6:], *TWICE]
            start.wait()  # every account signed up: now they all vote at once
            outcomes = []
            for step, arxiv_id in enumerate(plan):
                way = WAYS[(n + step) % len(WAYS)]
                answer = client.vote(arxiv_id, way)
                voted = answer.json()["voted"] if way != "form" and answer.status_code == 200 else None
                outcomes.append((arxiv_id, way, answer.status_code, voted))
            return outcomes

        with ThreadPoolExecutor(max_workers=ACCOUNTS) as pool:
            outcomes = list(pool.map(one_account, range(ACCOUNTS)))

        # Every request answered (the plain form redirects back); an account's own toggles alternate.
        for plan in outcomes:
            assert [status for _, way, status, _ in plan] == [303 if way == "form" else 200 for _, way, _, _ in plan], plan
            for arxiv_id in TWICE:
                said = [voted for paper, _, _, voted in plan if paper == arxiv_id]  # None: the form does not say
                assert len(said) == 2 and all(v in (None, truth) for v, truth in zip(said, (True, False))), (arxiv_id, said)
        served = Counter(pid for client in clients for pid in client.served_by)
        # A connection the server had already closed when /proc was read has no owner left to
        # find (seen once under heavy load): tolerated for a few requests, never for many.
        unattributed = served.pop(None, 0)
        assert unattributed <= sum(served.values()) // 20, f"{unattributed} requests' connections were held by no worker"
        assert set(served) <= workers
        assert len(served) >= 2, f"every request went to one worker ({served}): nothing was shown across workers"

        # Every worker that had the old counts in its page cache now answers the exact new ones.
        for client in clients:
            client.http.close()
        expected = {arxiv_id: n + (ACCOUNTS if arxiv_id in ONCE else 0) for n, arxiv_id in enumerate(PAPERS)}
        assert read_through_workers(base, server, port, expected, until=warmed) == warmed
    finally:
        for client in clients:
            client.http.close()
        server.terminate()
        server.wait(timeout=30)

    with database.session() as session:
        for paper in session.scalars(select(Paper).where(Paper.arxiv_id.in_(PAPERS))):
            rows = session.scalar(select(func.count()).select_from(Vote).where(Vote.paper_id == paper.id))
            assert paper.vote_count == rows == (ACCOUNTS if paper.arxiv_id in ONCE else 0), paper.arxiv_id
        per_user = Counter(session.scalars(select(User.username).join(Vote, Vote.user_id == User.id)))
        assert per_user == Counter({f"voter{n:02d}": len(ONCE) for n in range(ACCOUNTS)})
