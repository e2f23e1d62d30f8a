"""The API keeps its OpenAPI document: schemathesis, the field's contract tester, generates a few
thousand requests across every operation (valid ones, invalid ones, unexpected methods, missing
credentials) against a real server, and checks every answer against the document.

It runs as its command line does, derandomized by a seed, against uvicorn on loopback, as a
script holding a write token would; the server counts what it answered. Bounded: 80
examples an operation, a couple of minutes on a busy machine; the subprocess timeout only detects
a hang. Any failure prints schemathesis's report, with a ``curl`` line to reproduce it.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from functools import partial

import pytest
from aiosmtpd.controller import Controller

from papertide.community import accounts, comments, tokens
from tests.catalog.helpers import NOW
from tests.digest.conftest import RecordingHandler, free_port
from tests.ingest.replay import ReplayServer
from tests.ingest.test_arxiv_api import API, atom

EXAMPLES_PER_OPERATION = 80
SEED = 20260601


class Tally:
    """ASGI middleware counting the answers the server gave, by status."""

    def __init__(self, app):
        self.app, self.statuses = app, Counter()

    async def __call__(self, scope, receive, send):
        async def count(message):
            if message["type"] == "http.response.start":
                self.statuses[message["status"]] += 1
            await send(message)

        await self.app(scope, receive, count)


@pytest.fixture
def mail_sink():
    controller = Controller(RecordingHandler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def arxiv():
    """arXiv as the API sees it from here: a real HTTP server answering every lookup with arXiv's
    recorded answer for an id it does not have."""
    server = ReplayServer().start()
    server.fallback = atom("id_0808.05394_s0_m100_7b0c7d0a7cdd")
    yield server
    server.stop()


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_departure_from_the_schema(catalog, live_server, mail_sink, arxiv,
                                                                            tmp_path):
    from papertide.ingest.arxiv_api import fetch_paper
    from papertide.ingest.http import PoliteFetcher

    with catalog.session() as session:
        owner = accounts.sign_up(session, "contract", "correct horse battery", "contract@example.org")
        token, _ = tokens.create(session, owner.id, "schemathesis", "write", now=NOW)
        comments.add_comment(session, owner.id, "2508.00001", "A first comment", None, now=NOW)
    tally: list[Tally] = []

    def serve(app):
        app.state.fetch_paper = partial(fetch_paper, api_url=arxiv.url + API, fetcher=PoliteFetcher(delay=0))
        tally.append(Tally(app))
        return tally[0]

    base_url = live_server(serve=serve, smtp_port=mail_sink.port, rate_limit_scale=1000)
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{base_url}/openapi.json", "--checks", "all",
               "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", str(SEED), "--workers", "1",
               "--header", f"Authorization: Bearer {token}", "--no-color", "--report", "junit",
               "--report-junit-path", str(tmp_path / "junit.xml")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    answered = sum(tally[0].statuses.values())
    server_errors = sum(n for status, n in tally[0].statuses.items() if status >= 500)
    print(f"schemathesis: {answered} answers, by status {dict(tally[0].statuses)}")
    assert answered >= 2000, (answered, report)
    assert server_errors == 0, tally[0].statuses
    operations = len({line for line in (tmp_path / "junit.xml").read_text().splitlines() if "<testcase" in line})
    assert operations >= 20, report
