"""Outbox delivery against real SMTP servers on loopback, with faults injected: every confirmed
subscriber ends up with the period's digest exactly once, whatever happened on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from papertide.digest import outbox, subscriptions
from papertide.digest.models import DigestOutbox, Subscription
from papertide.digest.run import DeliveryPolicy, run_digests
from papertide.digest.select import PaperSelector
from papertide.ingest.detect import open_source
from papertide.ingest.runner import ingest
from papertide.orm import utcnow

from .conftest import (
    EMPTY_DAY, MONDAY, SECRET, WEEK_FIXTURE, MeetingPoint, RefuseAfter, RejectSome, TempFailFirst, confirmed,
    free_port, make_settings,
)

SRC = Path(__file__).resolve().parents[2] / "src"
NO_WAIT = DeliveryPolicy(backoff_base=timedelta(milliseconds=20), retry_window=timedelta(0))


def later(hours: float = 1):
    """A clock past every backoff, standing for 'a later run'."""
    return lambda: utcnow() + timedelta(hours=hours)


def statuses(database, period=MONDAY) -> Counter:
    return Counter(row.status for row in outbox.rows_for(database, period.key))


def everyone_once(handlers, emails) -> None:
    """Across all servers: each address received exactly one message for the period."""
    got = Counter(r for h in handlers for r in h.per_recipient().elements())
    assert got == Counter(emails), f"lost: {set(emails) - set(got)}, doubled: {[a for a, n in got.items() if n > 1]}"


def emails_of(ids, prefix="reader"):
    return [f"{prefix}{n}@example.org" for n in range(len(ids))]


def day_papers(day: str) -> list[dict]:
    rows = [json.loads(line) for line in WEEK_FIXTURE.read_text().splitlines()]
    return [row for row in rows if row["daily_date"] == day]


def test_each_confirmed_subscriber_gets_one_multipart_digest(papers, sink):
    ids = confirmed(papers, 5)
    subscriptions.request_subscription(papers, "never-confirmed@example.org", subscriptions.Preferences())
    settings = make_settings(papers, sink.port)

    report = run_digests(papers, settings, MONDAY, policy=NO_WAIT)

    assert report.sent == 5 and report.recorded.recorded == 5
    everyone_once([sink.handler], emails_of(ids))
    item = next(r for r in sink.handler.received if r.recipients == ["reader0@example.org"])
    message = item.message
    assert message["To"] == "reader0@example.org"
    assert message["Message-ID"] == f"<daily.2026-08-17.s{ids[0]}@papertide.test>"
    assert message["List-Unsubscribe"].startswith("<http://papertide.test/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = message.get_body(preferencelist=("html",)).get_content()
    # The day's most upvoted paper leads both parts, linked to its papertide page.
    monday = day_papers("2026-08-17")
    top = max(monday, key=lambda row: row["upvotes"])
    assert text.split("\n\n")[1].startswith(f"1. {top['title']}")
    assert f'href="http://papertide.test/papers/{top["arxiv_id"]}"' in html
    # Ten papers (the default), all from that day of the list, with upvotes and bylines.
    on_monday = {row["arxiv_id"] for row in monday}
    linked = [line.strip().rsplit("/", 1)[1] for line in text.splitlines() if "/papers/" in line]
    assert len(linked) == 10 and set(linked) <= on_monday
    assert f"▲ {top['upvotes']} upvotes" in text and "upvotes" in html
    assert "Monday 17 August 2026" in text and "Monday 17 August 2026" in html
    assert "/settings/digest?token=" in html and "/unsubscribe?token=" in html

    again = run_digests(papers, settings, MONDAY, policy=NO_WAIT)
    assert again.recorded.recorded == 0 and again.sent == 0
    assert len(sink.handler.received) == 5


def test_a_period_without_papers_sends_nothing_and_says_so(papers, sink):
    confirmed(papers, 3)
    report = run_digests(papers, make_settings(papers, sink.port), EMPTY_DAY, policy=NO_WAIT)
    assert report.sent == 0 and not sink.handler.received
    assert outbox.rows_for(papers, EMPTY_DAY.key) == []
    assert "no papers on the list for Saturday 22 August 2026" in report.lines()[0]


def test_an_empty_interest_digest_is_kept_as_skipped_and_not_sent(papers, sink):
    confirmed(papers, 1, prefix="niche", content="interests", topics=["underwater basket weaving"])
    confirmed(papers, 1, prefix="trend")
    report = run_digests(papers, make_settings(papers, sink.port), MONDAY, policy=NO_WAIT)
    assert report.sent == 1 and report.recorded.empty == 1
    assert sink.handler.per_recipient() == Counter({"trend0@example.org": 1})
    assert statuses(papers) == Counter({"sent": 1, "skipped": 1})


def test_server_refusing_after_n_messages_then_a_later_run_delivers_the_rest(papers, smtp_server):
    ids = confirmed(papers, 8)
    refusing = smtp_server(RefuseAfter(3))
    first = run_digests(papers, make_settings(papers, refusing.port), MONDAY, policy=NO_WAIT)
    assert first.sent == 3 and first.stopped and "421" in first.stopped
    assert statuses(papers) == Counter({"sent": 3, "pending": 5})

    healthy = smtp_server()
    second = run_digests(papers, make_settings(papers, healthy.port), MONDAY, policy=NO_WAIT, clock=later())
    assert second.sent == 5 and second.recorded.recorded == 0
    everyone_once([refusing.handler, healthy.handler], emails_of(ids))
    assert statuses(papers) == Counter({"sent": 8})


def test_server_down_loses_nothing_and_the_next_run_delivers(papers, smtp_server):
    ids = confirmed(papers, 6)
    port = free_port()  # nothing listens here yet
    settings = make_settings(papers, port)
    first = run_digests(papers, settings, MONDAY, policy=NO_WAIT)
    assert first.sent == 0 and "cannot reach SMTP server" in first.stopped
    assert statuses(papers) == Counter({"pending": 6})
    with papers.session() as session:
        assert session.scalars(select(DigestOutbox.last_error).where(DigestOutbox.attempts > 0)).first().startswith("cannot reach")

    up = smtp_server(port=port)
    second = run_digests(papers, settings, MONDAY, policy=NO_WAIT, clock=later())
    assert second.sent == 6
    everyone_once([up.handler], emails_of(ids))


def test_temporary_failures_are_retried_with_backoff_in_the_same_run(papers, smtp_server):
    ids = confirmed(papers, 4)
    server = smtp_server(TempFailFirst(times=2))
    policy = DeliveryPolicy(backoff_base=timedelta(milliseconds=20), retry_window=timedelta(seconds=30))
    report = run_digests(papers, make_settings(papers, server.port), MONDAY, policy=policy)
    assert report.sent == 4 and report.deferred == 8 and not report.stopped
    everyone_once([server.handler], emails_of(ids))
    assert set(server.handler.attempts.values()) == {3}
    assert {row.attempts for row in outbox.rows_for(papers, MONDAY.key)} == {3}


def test_a_temporary_failure_gives_up_after_max_attempts_and_says_why(papers, smtp_server):
    confirmed(papers, 1)
    server = smtp_server(TempFailFirst(times=100))
    policy = DeliveryPolicy(backoff_base=timedelta(milliseconds=10), retry_window=timedelta(seconds=30), max_attempts=3)
    report = run_digests(papers, make_settings(papers, server.port), MONDAY, policy=policy)
    assert report.failed == 1 and report.sent == 0
    [row] = outbox.rows_for(papers, MONDAY.key)
    assert row.status == "failed" and row.last_error.startswith("gave up after 3 attempts: 451")


def test_a_permanent_refusal_marks_the_address_and_stops_sending_to_it(papers, smtp_server):
    ids = confirmed(papers, 4)
    server = smtp_server(RejectSome({"reader1@example.org"}))
    settings = make_settings(papers, server.port)
    report = run_digests(papers, settings, MONDAY, policy=NO_WAIT)
    assert report.sent == 3 and report.bounced == 1
    with papers.session() as session:
        bounced = session.get(Subscription, ids[1])
        assert bounced.status == "bounced" and bounced.bounce_reason.startswith("550")

    from papertide.digest.periods import DigestPeriod

    tuesday = DigestPeriod.containing("daily", MONDAY.start + timedelta(days=1))
    run_digests(papers, settings, tuesday, policy=NO_WAIT, clock=later())
    assert server.handler.refusals["reader1@example.org"] == 1  # never tried again
    assert {r.subscription_id for r in outbox.rows_for(papers, tuesday.key)} == {ids[0], ids[2], ids[3]}


def test_unsubscribing_after_recording_skips_the_digest(papers, sink):
    ids = confirmed(papers, 2)
    settings = make_settings(papers, sink.port)
    from papertide.digest.select import PaperSelector

    outbox.record(papers, MONDAY, PaperSelector(papers, MONDAY), utcnow())
    subscriptions.unsubscribe(papers, ids[0], "reader0@example.org")
    report = run_digests(papers, settings, MONDAY, policy=NO_WAIT)
    assert report.sent == 1 and report.skipped == 1
    assert sink.handler.per_recipient() == Counter({"reader1@example.org": 1})


def test_two_runs_at_once_never_send_twice(papers, sink):
    ids = confirmed(papers, 60)
    settings = make_settings(papers, sink.port)
    policy = DeliveryPolicy(batch_size=7, retry_window=timedelta(0))
    start = threading.Barrier(2)
    reports = []

    def one_run():
        start.wait()
        reports.append(run_digests(papers, settings, MONDAY, policy=policy))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(reports) == 2
    assert sum(report.sent for report in reports) == 60
    assert sum(report.recorded.recorded for report in reports) == 60
    everyone_once([sink.handler], emails_of(ids))


def _cli_run(database, port, *, fault: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "PAPERTIDE_DATABASE_URL": database.url,
        "PAPERTIDE_SECRET_KEY": SECRET,
        "PAPERTIDE_BASE_URL": "http://papertide.test",
        "PAPERTIDE_SMTP_HOST": "127.0.0.1",
        "PAPERTIDE_SMTP_PORT": str(port),
    }
    env.pop("PAPERTIDE_DIGEST_FAULT", None)
    if fault:
        env["PAPERTIDE_DIGEST_FAULT"] = fault
    command = [sys.executable, "-c", "from papertide.cli import main; main()", "digest", "run",
               "--date", MONDAY.start.isoformat(), "--retry-window", "0", "--batch-size", "5"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["claimed:1", "sent:1", "sent:7", "claimed:2"])
def test_kill_9_in_the_middle_of_a_run_then_another_run_delivers_each_digest_once(papers, sink, fault):
    ids = confirmed(papers, 12)
    papers.dispose()  # the subprocess owns the file now
    killed = _cli_run(papers, sink.port, fault=fault)
    assert killed.returncode == -9, killed.stderr
    before = len(sink.handler.received)
    point, count = fault.split(":")
    assert before == (int(count) if point == "sent" else 5 * (int(count) - 1))  # batches of 5
    assert statuses(papers)["sending"] > 0  # the dead run left claims behind

    finished = _cli_run(papers, sink.port)
    assert finished.returncode == 0, finished.stderr
    assert f"{12 - before} sent" in finished.stdout and "recovered" in finished.stdout
    everyone_once([sink.handler], emails_of(ids))
    assert statuses(papers) == Counter({"sent": 12})


@pytest.mark.slow
def test_kill_between_the_servers_250_and_the_commit_resends_with_the_same_message_id(papers, sink):
    """The one window no SMTP client can close (see digest/run.py): we chose at-least-once there,
    so exactly one digest is delivered twice, as the same message (same Message-ID)."""
    ids = confirmed(papers, 5)
    papers.dispose()
    killed = _cli_run(papers, sink.port, fault="accepted:3")
    assert killed.returncode == -9
    assert len(sink.handler.received) == 3
    assert _cli_run(papers, sink.port).returncode == 0
    per_recipient = sink.handler.per_recipient()
    assert set(per_recipient) == set(emails_of(ids))
    assert sorted(per_recipient.values()) == [1, 1, 1, 1, 2]
    doubled = next(address for address, n in per_recipient.items() if n == 2)
    ids_seen = {r.message_id for r in sink.handler.received if r.recipients == [doubled]}
    assert len(ids_seen) == 1
    assert statuses(papers) == Counter({"sent": 5})


@pytest.mark.slow
def test_concurrent_cli_runs_in_two_processes_send_each_digest_once(papers, smtp_server):
    """Two ``papertide digest run`` processes at once. The SMTP server holds each one's first
    message until both have one to send, so both provably deliver at the same time, each holding
    rows it claimed; still every reader gets one digest, and the two share the work."""
    ids = confirmed(papers, 40)
    papers.dispose()
    meeting = smtp_server(MeetingPoint(parties=2))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: _cli_run(papers, meeting.port, timeout=180), range(2)))
    assert [r.returncode for r in results] == [0, 0], [r.stderr for r in results]
    assert meeting.handler.met, "the two runs were never sending at the same time"
    sent = [int(re.search(r"delivery: (\d+) sent", r.stdout).group(1)) for r in results]
    assert all(sent) and sum(sent) == 40, sent
    everyone_once([meeting.handler], emails_of(ids))
    with papers.session() as session:
        senders = session.scalars(select(DigestOutbox.claimed_by).where(DigestOutbox.status == "sent").distinct()).all()
    assert len(senders) == 2


@pytest.mark.postgres
def test_a_run_skips_digests_another_worker_holds_locked_instead_of_waiting(make_database, sink):
    """PostgreSQL: rows that another worker's open claim has locked (``FOR UPDATE``) are skipped
    (``SKIP LOCKED``), not waited for: the run sends everything else and ends; the held rows are
    sent by the next run once the lock is gone. (A plain ``FOR UPDATE`` would hang here.)"""
    database = make_database("postgres")
    assert ingest(database, open_source(str(WEEK_FIXTURE)), progress=False).total == 108
    ids = confirmed(database, 12)
    recorded = outbox.record(database, MONDAY, PaperSelector(database, MONDAY), utcnow())
    assert recorded.recorded == 12
    pending = DigestOutbox.__table__
    with database.engine.connect() as other_worker, other_worker.begin():
        held = other_worker.execute(
            select(pending.c.id, Subscription.email).join(Subscription, Subscription.id == pending.c.subscription_id)
            .where(pending.c.status == "pending").order_by(pending.c.id).limit(5).with_for_update(of=pending)
        ).all()
        first = _cli_run(database, sink.port, timeout=90)
        assert first.returncode == 0, first.stderr
        assert "delivery: 7 sent" in first.stdout, first.stdout
        assert not {email for _, email in held} & set(sink.handler.per_recipient())
    assert statuses(database) == Counter({"sent": 7, "pending": 5})

    second = _cli_run(database, sink.port, timeout=90)
    assert second.returncode == 0 and "delivery: 5 sent" in second.stdout, second.stdout
    everyone_once([sink.handler], emails_of(ids))


def test_a_broken_row_fails_alone_and_a_digest_emptied_by_moderation_is_not_sent(papers, sink):
    from papertide.catalog.models import Paper

    ids = confirmed(papers, 3)
    with papers.session() as session:  # a row no period can be read from, and one of a hidden paper
        session.add(DigestOutbox(subscription_id=ids[0], period_key="daily:not-a-date", paper_ids=[1]))
        hidden = session.scalars(select(Paper.id).order_by(Paper.id)).first()
        session.get(Paper, hidden).hidden = True
        session.add(DigestOutbox(subscription_id=ids[1], period_key="daily:2026-08-16", paper_ids=[hidden]))
    report = run_digests(papers, make_settings(papers, sink.port), MONDAY, policy=NO_WAIT)
    assert report.sent == 3 and report.failed == 1 and report.skipped == 1
    everyone_once([sink.handler], emails_of(ids))
    with papers.session() as session:
        rows = {row.period_key: row for row in session.scalars(select(DigestOutbox))}
    assert rows["daily:not-a-date"].status == "failed" and "could not compose" in rows["daily:not-a-date"].last_error
    assert rows["daily:2026-08-16"].status == "skipped"
