"""Readiness means warm: ``/readyz`` stays 503 until the worker has rendered a search page and an
API search itself (``web/warm.py``), so a reader's first search after it compiles no template,
counts no organisation menu and loads no model; the warm-up's searches are no reader's, so they
count in no metric; and a worker of several says ready only once every worker of its server is
warm (``warm_workers``), whichever one a probe reaches.

The hash embedder stands in for the model: what is tested is what readiness waits for, not the
model's loading (``tests/ops/test_readiness.py`` serves the real one).
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from papertide import metrics
from papertide.config import get_settings
from papertide.warm_workers import WorkerMarks
from papertide.web import rendering
from papertide.web.api import routes as api_routes
from papertide.web.pages import search as search_page
from tests.catalog.helpers import NOW
from tests.web.helpers import build_app, settings_for

WAIT = 60  # seconds: a bound on waits that end as soon as their event is set


@pytest.fixture
def hash_embedder(monkeypatch):
    monkeypatch.setenv("PAPERTIDE_EMBEDDER", "hash")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def app(catalog, hash_embedder):
    return build_app(settings_for(catalog), catalog, clock=lambda: NOW)


def spy(monkeypatch, owner, name: str, before=None) -> list[tuple]:
    """Record the calls of ``owner.name`` (running ``before(*args)`` first), and return the record."""
    real, calls = getattr(owner, name), []

    def recorded(*args, **kwargs):
        calls.append(args)
        if before is not None:
            before(*args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, recorded)
    return calls


def test_readyz_is_503_until_the_warm_up_has_rendered_a_search_page_and_an_api_search(app, monkeypatch):
    rendering_menu, release = threading.Event(), threading.Event()

    def hold(*args):  # the warm-up's search page, held while it draws the organisation menu
        rendering_menu.set()
        assert release.wait(WAIT)

    spy(monkeypatch, search_page, "organization_choices", before=hold)
    api_searches = spy(monkeypatch, api_routes, "search_papers")
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 503  # nobody warmed this app up: the first probe starts it
        assert rendering_menu.wait(WAIT)
        held = client.get("/readyz")
        assert held.status_code == 503 and held.json()["checks"]["search"] == "warming up", held.text
        assert api_searches == []  # not there yet
        release.set()
        assert app.state.search_warm_up.finished.wait(WAIT)
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert len(api_searches) == 1  # the API's search, after the page's


def test_after_readiness_a_first_search_compiles_no_template_and_counts_no_menu(app, monkeypatch):
    searches_before = _searches_observed()
    with TestClient(app) as client:
        client.get("/readyz")
        assert app.state.search_warm_up.finished.wait(WAIT)
        assert client.get("/readyz").status_code == 200
        assert _searches_observed() == searches_before  # the warm-up's searches are no reader's
        templates_loaded = spy(monkeypatch, rendering.environment.loader, "get_source")
        menus_counted = spy(monkeypatch, search_page, "list_organizations")
        page = client.get("/search", params={"q": "attention"})
        assert page.status_code == 200 and "Sparse attention for long context" in page.text  # cards rendered
        assert templates_loaded == [] and menus_counted == []
        api = client.get("/api/papers/search", params={"q": "diffusion"})
        assert api.status_code == 200 and api.json()
    assert _searches_observed() == searches_before + 2  # the readers' are counted


def test_a_worker_of_two_says_ready_only_while_the_other_is_warm_too(app, tmp_path):
    app.state.search_warm_up.marks = WorkerMarks(tmp_path, 2)
    other = WorkerMarks(tmp_path, 2)  # the server's other worker (in this process: its mark is named)
    with TestClient(app) as client:
        client.get("/readyz")
        assert app.state.search_warm_up.finished.wait(WAIT)
        alone = client.get("/readyz")
        assert alone.status_code == 503 and alone.json()["checks"]["search"] == "warming up: 1 of 2 workers warm"
        other.mark("other")
        assert client.get("/readyz").status_code == 200
        other.release()  # it died: uvicorn starts another, cold
        assert client.get("/readyz").json()["checks"]["search"] == "warming up: 1 of 2 workers warm"
        other.mark("its successor")
        assert client.get("/readyz").status_code == 200
    other.release()
    app.state.search_warm_up.marks.release()


def test_a_mark_counts_while_its_process_lives(tmp_path):
    marks = WorkerMarks(tmp_path, 2)
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys; from papertide.warm_workers import WorkerMarks; "
         "WorkerMarks(sys.argv[1], 2).mark(); print('warm', flush=True); sys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline() == "warm\n"
        assert marks.waiting() == 1
    finally:
        worker.kill()  # no clean exit: the kernel drops its lock all the same
        worker.wait()
    assert marks.waiting() == 2 and len(list(tmp_path.iterdir())) == 1  # its mark is there, and counts for nothing


def _searches_observed() -> float:
    """How many searches the metrics have observed, read from their exposition as a scrape would."""
    body, _ = metrics.exposition()
    return sum(sample.value for family in text_string_to_metric_families(body.decode()) for sample in family.samples
               if sample.name == "papertide_search_duration_seconds_count" and sample.labels.get("kind") == "search")
