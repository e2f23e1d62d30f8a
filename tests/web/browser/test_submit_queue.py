"""Submitting a paper while arXiv is down, in Debian's chromium: the form says it is asking arXiv,
then that the submission is queued, the id still in the field; the worker's job runs once when
arXiv is back, and the submit page then shows the paper added, with a link to it."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from papertide.worker.scheduler import Worker
from tests.ingest.replay import Reply, ReplayServer
from tests.ingest.test_arxiv_api import API, atom, lookup_params
from tests.web.browser.conftest import VIEWPORTS
from tests.web.browser.harness import enter_account, serve_demo
from tests.worker.conftest import settings_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAPER = "1605.08386"  # not in the demo catalog; arXiv's recorded answer has it


class Later:
    """The worker's clock, two minutes on: the queued submission's first retry is due."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(minutes=2)

    def wait_until(self, moment: datetime, stop: threading.Event) -> bool:
        return stop.is_set()


def watch_progress(page) -> list[tuple[str, bool]]:
    """What the submit form shows once its button is turned off (while the post is on its way:
    Playwright cannot look at a page whose navigation is pending, so the page reports it)."""
    shown: list[tuple[str, bool]] = []
    page.expose_function("reportProgress", lambda text, disabled: shown.append((text, disabled)))
    page.evaluate("""() => {
      const form = document.querySelector("form[data-progress]");
      const button = form.querySelector("button[type=submit]");
      const status = form.querySelector("[data-progress-status]");
      new MutationObserver(() => window.reportProgress(status.hidden ? "" : status.textContent, button.disabled))
        .observe(button, {attributes: true, attributeFilter: ["disabled"]});
    }""")
    return shown


@pytest.fixture
def arxiv():
    server = ReplayServer().start()
    yield server
    server.stop()


@pytest.fixture
def site_with_arxiv(make_database, arxiv, tmp_path):
    """The demo site asking the replayed arXiv (instead of arxiv.org) when a paper is submitted."""
    env = {"PAPERTIDE_ARXIV_API_URL": arxiv.url + API, "PAPERTIDE_ARXIV_DELAY": "0", "PAPERTIDE_SUBMIT_TIMEOUT": "5"}
    with serve_demo(tmp_path, database=make_database(), extra_env=env) as running:
        yield running


def test_a_submission_while_arxiv_is_down_is_queued_then_shown_added_once_the_worker_ran(chromium, site_with_arxiv,
                                                                                           arxiv):
    site = site_with_arxiv
    held = threading.Event()
    down = Reply(503, b"arXiv is down for maintenance", hold=held)
    arxiv.route(API, lookup_params(PAPER, 1), down, atom("id_1605.08386_s0_m100_199195aa31ad"))
    context = chromium.new_context(base_url=site.base_url, **VIEWPORTS["desktop"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        enter_account(page, "/signup", "patient_reader")
        page.goto("/submit")
        page.fill("#arxiv_id", f"arXiv:{PAPER}")
        shown = watch_progress(page)
        page.locator("main form button[type=submit]").click(no_wait_after=True)

        # While arXiv keeps the request waiting, the form says what is going on.
        assert down.served.wait(15)
        held.set()  # arXiv answers: 503, it is down

        expect(page.get_by_test_id("submission-queued")).to_contain_text(
            "arXiv is slow to answer; your submission of 1605.08386 is queued and will be added when arXiv answers")
        assert shown == [("Asking arXiv…", True)]  # while it waited: the status, and the button off
        expect(page.locator("#arxiv_id")).to_have_value(f"arXiv:{PAPER}")
        expect(page.get_by_test_id(f"queued-{PAPER}")).to_contain_text("waiting for arXiv")

        # arXiv is back; the worker's submissions job runs once against the same database.
        run = Worker(site.database, settings_for(site.database, arxiv), Later()).run_job("submissions")
        assert run is not None and run.ok and run.outcome.added == 1, run

        page.goto("/submit")
        finished = page.get_by_test_id("submission-finished")
        expect(finished).to_contain_text("1605.08386 is on the daily list of")
        expect(page.get_by_test_id(f"queued-{PAPER}")).to_have_attribute("data-status", "done")
        finished.get_by_role("link", name=PAPER).click()
        expect(page).to_have_url(f"{site.base_url}/papers/{PAPER}")
        expect(page.locator("h1")).to_contain_text("Heat-bath random walks with Markov bases")
        assert not errors, errors
    finally:
        held.set()
        context.close()
