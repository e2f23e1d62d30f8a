"""Schedules and leases on a real database: slots, one holder at a time, expiry, renewal, asks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from papertide.worker import leases
from papertide.worker.jobs import Job
from papertide.worker.schedules import DailyAt, Every
from tests.worker.conftest import job_rows

UTC = timezone.utc
T0 = datetime(2026, 8, 19, 10, 7, tzinfo=UTC)


def test_every_30_minutes_falls_on_the_hour_and_half_hour():
    every = Every(30)
    assert every.next_after(T0) == datetime(2026, 8, 19, 10, 30, tzinfo=UTC)
    assert every.next_after(datetime(2026, 8, 19, 10, 30, tzinfo=UTC)) == datetime(2026, 8, 19, 11, 0, tzinfo=UTC)
    assert every.last_at_or_before(T0) == datetime(2026, 8, 19, 10, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        Every(0)


def test_daily_at_a_local_time_follows_daylight_saving():
    evening = DailyAt.parse("23:00", "America/New_York")
    assert evening.next_after(T0) == datetime(2026, 8, 20, 3, 0, tzinfo=UTC)  # EDT, UTC-4
    assert evening.next_after(datetime(2026, 12, 1, tzinfo=UTC)) == datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # EST, UTC-5
    with pytest.raises(ValueError, match="HH:MM"):
        DailyAt.parse("11pm")


def test_a_failing_job_backs_off_but_never_past_its_next_slot():
    job = Job("source:x", Every(30), body=lambda context, claim: None)
    assert job.next_run_at(T0, 0) == datetime(2026, 8, 19, 10, 30, tzinfo=UTC)
    assert [job.next_run_at(T0, n) - T0 for n in (1, 2, 3, 4)] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert job.next_run_at(T0, 6) == datetime(2026, 8, 19, 10, 30, tzinfo=UTC)  # 32 min would pass the slot
    on_request = Job("search-index", None, body=lambda context, claim: None, first_due="asked")
    assert on_request.first_run_at(T0) is None and on_request.next_run_at(T0, 0) is None
    assert on_request.next_run_at(T0, 12) == T0 + timedelta(hours=1)


def test_one_claim_wins_among_many_at_once(database):
    leases.ensure_jobs(database, {"source:x": T0})
    barrier = threading.Barrier(8)

    def attempt(n: int):
        barrier.wait()
        return leases.claim(database, "source:x", f"worker-{n}", T0)

    with ThreadPoolExecutor(8) as pool:
        claims = [c for c in pool.map(attempt, range(8)) if c is not None]
    assert len(claims) == 1 and claims[0].slot == T0
    assert job_rows(database)["source:x"].holder == claims[0].holder


def test_a_lease_expires_unless_renewed_and_a_lost_lease_records_nothing(database):
    leases.ensure_jobs(database, {"job": T0})
    first = leases.claim(database, "job", "first", T0)
    assert leases.claim(database, "job", "second", T0 + leases.LEASE - timedelta(seconds=1)) is None
    assert leases.renew(database, first, T0 + timedelta(minutes=4))  # now held until 10:16
    assert leases.claim(database, "job", "second", T0 + timedelta(minutes=8)) is None
    taken = leases.claim(database, "job", "second", T0 + timedelta(minutes=10))
    assert taken is not None and taken.slot == T0  # the same slot, resumed by another worker
    assert not leases.renew(database, first, T0 + timedelta(minutes=10))
    with database.session() as session:
        assert not leases.finish(session, first, T0 + timedelta(minutes=11), T0 + timedelta(hours=1), None)
    with database.session() as session:
        assert leases.finish(session, taken, T0 + timedelta(minutes=11), T0 + timedelta(hours=1), None)
    row = job_rows(database)["job"]
    assert (row.holder, row.next_run_at, row.last_success_at) == (None, T0 + timedelta(hours=1), T0 + timedelta(minutes=11))


def test_an_ask_during_a_run_is_kept_for_the_next_run(database):
    leases.ensure_jobs(database, {"search-index": None})
    assert leases.due_jobs(database, T0, ["search-index"]) == []
    leases.request_run(database, "search-index")
    held = leases.claim(database, "search-index", "w", T0)
    assert held is not None and held.slot is None
    leases.request_run(database, "search-index")  # new papers arrived while it ran
    with database.session() as session:
        leases.finish(session, held, T0, None, None)
    assert leases.due_jobs(database, T0, ["search-index"]) == ["search-index"]
    again = leases.claim(database, "search-index", "w", T0)
    with database.session() as session:
        leases.finish(session, again, T0, None, None)
    assert leases.due_jobs(database, T0, ["search-index"]) == []


def test_a_long_run_keeps_its_lease_alive_and_no_one_takes_it_over(database, replay, simulated):
    """A harvest that outlasts the lease several times over: renewed as it goes, never taken over."""
    from dataclasses import replace as copy

    from papertide.worker.scheduler import Worker
    from tests.worker.conftest import hf_reply, settings_for, wait_until

    held = threading.Event()
    replay.route("/api/daily_papers", {"date": "2026-08-18"}, copy(hf_reply("2026-08-18"), hold=held))
    replay.route("/api/daily_papers", {"date": "2026-08-19"}, hf_reply("2026-08-19"))
    slow = replay.routes[("/api/daily_papers", frozenset({("date", "2026-08-18")}))][0]
    time = simulated(T0)
    worker = Worker(database, settings_for(database, replay), time.clock)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(worker.run_once)
        try:
            assert slow.served.wait(60)  # the harvest is under way, waiting on Hugging Face
            for minutes in (4, 8, 12, 16):  # each step shorter than the lease; together three leases
                time.set(T0 + timedelta(minutes=minutes))
                wait_until(lambda: job_rows(database)["source:hf-daily"].lease_expires_at == time.now + leases.LEASE,
                           timeout=30, what=f"the lease renewed at +{minutes} min")
                assert leases.claim(database, "source:hf-daily", "intruder", time.now) is None
        finally:
            held.set()
        results = running.result(timeout=120)
    assert [(r.job, r.ok, r.slot) for r in results][0] == ("source:hf-daily", True, T0)
