"""Submitting a paper while arXiv is slow or down: the submission is queued, the reader keeps what
they typed and is told, and the worker's ``submissions`` job adds it once arXiv answers. arXiv is
a real local HTTP server replaying its recorded answers; the site is the real app, the worker
the real scheduler (and, for the crash, a real ``papertide worker`` process killed with -9)."""

from __future__ import annotations

import re
import signal
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from papertide.catalog.models import DailyEntry, Paper, SourcePacing
from papertide.community.models import QueuedSubmission
from papertide.db import is_postgres
from papertide.worker import sources
from papertide.worker.models import WorkerJob
from papertide.worker.scheduler import Worker
from tests.catalog.helpers import NOW, seed
from tests.ingest.replay import Reply
from tests.ingest.test_arxiv_api import API, atom, lookup_params
from tests.web.helpers import Visitor, build_app, settings_for
from tests.worker.conftest import SECRET, job_runs, start, worker_env

KNOWN, UNKNOWN = "1605.08386", "0808.05394"  # arXiv has the first (recorded answer), not the second
DOWN = Reply(503, b"arXiv is down for maintenance", {"Retry-After": "120"})
ARXIV_ANSWER = {KNOWN: "id_1605.08386_s0_m100_199195aa31ad", UNKNOWN: "id_0808.05394_s0_m100_7b0c7d0a7cdd"}


@pytest.fixture
def site(database, replay):
    """The catalog's papers, no harvests (this is about submissions), and the real app asking the
    replayed arXiv with the short timeout of a reader's request."""
    seed(database)
    for source in sources.listing(database):
        sources.remove(database, source.name)
    settings = settings_for(database, arxiv_api_url=replay.url + API, arxiv_delay=0, submit_timeout=2)
    with TestClient(build_app(settings, database, clock=lambda: NOW), base_url="http://testserver") as client:
        yield client


def arxiv_is_down_then_answers(replay, arxiv_id: str) -> None:
    replay.route(API, lookup_params(arxiv_id, 1), DOWN, atom(ARXIV_ANSWER[arxiv_id]))


def submit_form(visitor: Visitor, arxiv_id: str):
    return visitor.post("/submit", {"arxiv_id": arxiv_id}, json_api=False)


def queued(database) -> list[QueuedSubmission]:
    with database.session() as session:
        return list(session.scalars(select(QueuedSubmission).order_by(QueuedSubmission.id)))


@dataclass
class At:
    """A worker's clock stopped at ``moment``."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def wait_until(self, moment: datetime, stop: threading.Event) -> bool:
        return stop.is_set()


def run_submissions_job(database, replay, minutes_later: int = 2):
    """The worker, a little later, running the ``submissions`` job once."""
    settings = settings_for(database, arxiv_api_url=replay.url + API, arxiv_delay=3)  # a first turn is at once
    return Worker(database, settings, At(NOW + timedelta(minutes=minutes_later))).run_job("submissions")


def daily_date_of(database, arxiv_id: str):
    with database.session() as session:
        return session.scalar(select(DailyEntry.daily_date).join(Paper).where(Paper.arxiv_id == arxiv_id))


def test_a_submission_while_arxiv_is_down_is_queued_the_field_keeps_the_id_and_the_worker_adds_it_later(site, database, replay):
    arxiv_is_down_then_answers(replay, KNOWN)
    visitor = Visitor(site)
    visitor.sign_up("ada")
    page = submit_form(visitor, f"arXiv:{KNOWN}")
    assert page.status_code == 202
    assert "arXiv is slow to answer; your submission of 1605.08386 is queued and will be added when arXiv answers" in page.text
    assert f'value="arXiv:{KNOWN}"' in page.text  # as typed
    assert re.search(r'data-testid="queued-1605.08386" data-status="queued"', page.text)
    [waiting] = queued(database)
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("queued", 1, NOW + timedelta(minutes=1))
    assert "HTTP 503" in waiting.last_error and daily_date_of(database, KNOWN) is None

    run = run_submissions_job(database, replay)
    assert run.ok and run.outcome.added == 1, run.outcome.summary
    [finished] = queued(database)
    assert (finished.status, finished.daily_date, finished.attempts) == ("done", NOW.date(), 2)
    assert daily_date_of(database, KNOWN) == NOW.date()
    with database.session() as session:  # paced like every arXiv request: through the shared turns
        assert session.scalar(select(SourcePacing.host)) == "127.0.0.1"

    page = visitor.http.get("/submit")
    notice = re.search(r'data-testid="submission-finished">(.*?)</div>', page.text).group(1)
    assert '<a href="/papers/1605.08386">1605.08386</a> is on the' in notice and "#paper-1605.08386" in notice
    assert re.search(r'data-testid="queued-1605.08386" data-status="done"', page.text)
    assert "submission-finished" not in visitor.http.get("/submit").text  # told once
    assert "submissions" not in {r.job for r in Worker(database, settings_for(database), At(NOW + timedelta(hours=1)))
                                 .run_once()}  # nothing left to do


def test_a_paper_arxiv_does_not_have_fails_with_arxivs_answer(site, database, replay):
    arxiv_is_down_then_answers(replay, UNKNOWN)
    visitor = Visitor(site)
    visitor.sign_up("ada")
    assert visitor.post("/submit", {"arxiv_id": UNKNOWN}).json() == {"id": UNKNOWN, "status": "queued"}
    run = run_submissions_job(database, replay)
    assert run.ok and "1 failed" in run.outcome.summary
    [failed] = queued(database)
    assert (failed.status, failed.last_error, failed.finished_at) == ("failed", f"arXiv has no paper {UNKNOWN}",
                                                                      NOW + timedelta(minutes=2))
    page = visitor.http.get("/submit").text
    assert f"Your queued submission of {UNKNOWN} could not be added: arXiv has no paper {UNKNOWN}" in page


def test_the_same_paper_is_not_queued_twice_for_one_reader_and_json_callers_get_202(site, database, replay):
    replay.route(API, lookup_params(KNOWN, 1), DOWN)
    visitor = Visitor(site)
    visitor.sign_up("ada")
    first = visitor.post("/submit", {"arxiv_id": KNOWN})
    again = visitor.http.post("/api/submissions", json={"id": f"{KNOWN}v2"}, headers={"X-CSRF-Token": visitor.csrf})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json() == {"id": KNOWN, "status": "queued"}
    assert [(q.arxiv_id, q.status, q.attempts) for q in queued(database)] == [(KNOWN, "queued", 1)]


def test_while_arxiv_still_does_not_answer_the_worker_backs_off(site, database, replay):
    replay.route(API, lookup_params(KNOWN, 1), DOWN)
    visitor = Visitor(site)
    visitor.sign_up("ada")
    visitor.post("/submit", {"arxiv_id": KNOWN})
    run = run_submissions_job(database, replay)
    assert run.ok and "1 still waiting for arXiv" in run.outcome.summary
    [waiting] = queued(database)
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("queued", 2, NOW + timedelta(minutes=2 + 2))
    assert run_submissions_job(database, replay, minutes_later=3).outcome.summary == "nothing due"  # arXiv not asked
    assert len(replay.requests) == 2


def test_a_paper_someone_put_on_the_list_meanwhile_is_done_with_that_date(site, database, replay):
    replay.route(API, lookup_params(KNOWN, 1), DOWN)
    ada, bob = Visitor(site), Visitor(TestClient(site.app, base_url="http://testserver"))
    ada.sign_up("ada")
    bob.sign_up("bob")
    ada.post("/submit", {"arxiv_id": KNOWN})
    replay.route(API, lookup_params(KNOWN, 1), atom(ARXIV_ANSWER[KNOWN]))
    assert bob.post("/submit", {"arxiv_id": KNOWN}).status_code == 201  # arXiv is back for bob
    run = run_submissions_job(database, replay)
    assert run.ok and run.outcome.added == 1
    [finished] = queued(database)
    assert (finished.status, finished.daily_date) == ("done", NOW.date())
    assert len(replay.requests) == 2  # the worker found the paper in the catalog: arXiv not asked again


def test_a_slow_arxiv_is_given_up_on_after_the_short_timeout(site, database, replay):
    held = threading.Event()
    replay.route(API, lookup_params(KNOWN, 1), replace(atom(ARXIV_ANSWER[KNOWN]), hold=held))
    visitor = Visitor(site)
    visitor.sign_up("ada")
    try:
        answer = visitor.post("/submit", {"arxiv_id": KNOWN})
    finally:
        held.set()
    assert answer.status_code == 202
    [waiting] = queued(database)
    assert "ReadTimeout" in waiting.last_error


def test_a_worker_killed_while_arxiv_answers_leaves_the_submission_queued_for_the_next(site, database, replay, simulated,
                                                                                        tmp_path):
    """kill -9 between asking arXiv and storing its answer: nothing is half done; the next run adds it."""
    replay.route(API, lookup_params(KNOWN, 1), DOWN)
    visitor = Visitor(site)
    visitor.sign_up("ada")
    visitor.post("/submit", {"arxiv_id": KNOWN})
    held = threading.Event()
    answer = replace(atom(ARXIV_ANSWER[KNOWN]), hold=held)
    replay.route(API, lookup_params(KNOWN, 1), answer, atom(ARXIV_ANSWER[KNOWN]))
    time = simulated(NOW + timedelta(minutes=2))
    env = {**worker_env(database, replay), "PAPERTIDE_ARXIV_API_URL": replay.url + API, "PAPERTIDE_SECRET_KEY": SECRET}
    worker = start("worker", "--once", "--clock-file", str(time.path), env=env, log=tmp_path / "worker.log")
    try:
        assert answer.served.wait(60), (tmp_path / "worker.log").read_text()
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        held.set()
        if worker.poll() is None:
            worker.kill()
    [waiting] = queued(database)
    assert (waiting.status, waiting.attempts) == ("queued", 1) and daily_date_of(database, KNOWN) is None

    with database.session() as session:  # its lease lapses, as after any crash
        session.get(WorkerJob, "submissions").lease_expires_at = NOW
    run = run_submissions_job(database, replay, minutes_later=3)
    assert run.ok and run.outcome.added == 1, run.outcome.summary
    assert [q.status for q in queued(database)] == ["done"] and daily_date_of(database, KNOWN) == NOW.date()
    assert [r.status for r in job_runs(database, "submissions")] == ["interrupted", "ok"]


REFUSE_DONE = {  # the database refuses to mark a submission done, as a full disk or a lost connection would
    "sqlite": ["CREATE TRIGGER refuse_done BEFORE UPDATE OF status ON queued_submissions WHEN NEW.status = 'done' "
               "BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"],
    "postgresql": ["CREATE FUNCTION refuse_done() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$",
                   "CREATE TRIGGER refuse_done BEFORE UPDATE ON queued_submissions FOR EACH ROW "
                   "WHEN (NEW.status = 'done') EXECUTE FUNCTION refuse_done()"],
}


def test_a_submission_not_marked_done_is_not_on_the_list_either_and_the_next_pass_adds_it(site, database, replay):
    arxiv_is_down_then_answers(replay, KNOWN)
    visitor = Visitor(site)
    visitor.sign_up("patient")
    assert submit_form(visitor, KNOWN).status_code == 202
    with database.engine.begin() as connection:
        for statement in REFUSE_DONE[database.engine.dialect.name]:
            connection.execute(text(statement))

    failed = run_submissions_job(database, replay)
    assert not failed.ok and "the disk is full" in (failed.error or "")
    assert daily_date_of(database, KNOWN) is None  # the daily entry went with the refused "done"
    assert [(q.status, q.daily_date) for q in queued(database)] == [("queued", None)]

    with database.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER refuse_done" + (" ON queued_submissions" if is_postgres(database.engine) else "")))
    replay.route(API, lookup_params(KNOWN, 1), atom(ARXIV_ANSWER[KNOWN]))
    run = run_submissions_job(database, replay, minutes_later=10)
    assert run.ok and run.outcome.added == 1, run.outcome.summary
    assert daily_date_of(database, KNOWN) == NOW.date()
    assert [q.status for q in queued(database)] == ["done"]
