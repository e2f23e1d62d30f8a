"""1,000 vote requests from 50 concurrent clients against a real uvicorn server on SQLite end with
the exact counts: the unique constraint and the in-transaction counter leave no room for drift."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from papertide.catalog.models import DailyEntry, Paper
from papertide.community.models import Vote
from tests.catalog.helpers import MON, make_record, seed
from tests.web.helpers import Visitor

pytestmark = pytest.mark.slow

CLIENTS = 50
PAPERS = [f"2508.2{n:04d}" for n in range(18)]
ONCE, TWICE = PAPERS[:16], PAPERS[16:]  # every client votes on 16 papers and toggles 2 on and off again
REQUESTS_PER_CLIENT = len(ONCE) + 2 * len(TWICE)


def test_1000_concurrent_votes_from_50_clients_end_with_exact_counts(catalog, live_server):
    seed(catalog, [make_record(arxiv_id, f"Paper number {n}", day=MON, upvotes=n) for n, arxiv_id in enumerate(PAPERS)])
    base_url = live_server(rate_limit_scale=100)
    assert CLIENTS * REQUESTS_PER_CLIENT == 1_000

    def one_client(n: int) -> list[int]:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            visitor = Visitor(http)
            visitor.sign_up(f"voter{n:02d}")
            # Each client walks the papers in its own order, so requests on a paper interleave.
            order = ONCE[n % len(ONCE):] + ONCE[:n % len(ONCE)]
            plan = [*order[:8], *TWICE, *order[8:], *TWICE]
            return [visitor.vote(arxiv_id).status_code for arxiv_id in plan]

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        statuses = [s for result in pool.map(one_client, range(CLIENTS)) for s in result]

    assert len(statuses) == 1_000 and set(statuses) == {200}
    with httpx.Client(base_url=base_url) as http:
        for n, arxiv_id in enumerate(PAPERS):
            expected = n + (CLIENTS if arxiv_id in ONCE else 0)
            assert http.get(f"/api/papers/{arxiv_id}").json()["upvotes"] == expected, arxiv_id
    with catalog.session() as session:
        for paper in session.scalars(select(Paper).where(Paper.arxiv_id.in_(PAPERS))):
            rows = session.scalar(select(func.count()).select_from(Vote).where(Vote.paper_id == paper.id))
            assert paper.vote_count == rows == (CLIENTS if paper.arxiv_id in ONCE else 0)


def test_one_user_racing_toggles_on_one_paper_flips_exactly_once_per_request(catalog, live_server):
    base_url = live_server(rate_limit_scale=100)
    with httpx.Client(base_url=base_url, timeout=60) as http:
        visitor = Visitor(http)
        visitor.sign_up("racer")
        cookies, token = dict(http.cookies), visitor.csrf

    def toggle(_: int) -> bool:
        with httpx.Client(base_url=base_url, cookies=cookies, timeout=60) as http:
            answer = http.post("/api/papers/2508.00001/vote", headers={"X-CSRF-Token": token})
            assert answer.status_code == 200, answer.text
            return answer.json()["voted"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(toggle, range(41)))
    assert results.count(True) == 21 and results.count(False) == 20  # on, off, on, ... serialised
    with httpx.Client(base_url=base_url) as http:
        assert http.get("/api/papers/2508.00001").json()["upvotes"] == 5 + 1


def test_racing_submissions_of_one_paper_put_it_on_the_list_once(catalog, live_server):
    base_url = live_server(rate_limit_scale=100)
    visitors = []
    for n in range(10):
        visitor = Visitor(httpx.Client(base_url=base_url, timeout=60))
        visitor.sign_up(f"submitter{n}")
        visitors.append(visitor)

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda v: v.post("/submit", {"arxiv_id": "2508.00007"}).status_code, visitors))
    assert sorted(statuses) == [201] + [409] * 9
    for visitor in visitors:
        visitor.http.close()
    with catalog.session() as session:
        assert session.scalar(select(func.count()).select_from(DailyEntry).join(Paper)
                              .where(Paper.arxiv_id == "2508.00007")) == 1
