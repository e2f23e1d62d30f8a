"""Three real worker processes live through 24 simulated hours on one database: every job runs
exactly once in each of its slots, whichever worker gets it, and the day's work is all there.

The workers read the time from one file (``papertide worker --clock-file``). The test moves that
clock to the next slot any job has, then waits until the workers have done everything due by
then (no job due, none held), and moves on: synchronisation through the database, no sleeps.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from papertide.catalog.models import DailyEntry, Paper
from papertide.local_postgres import installation_dir
from papertide.search.semantic.models import PaperEmbedding
from papertide.worker import sources
from tests.digest.conftest import confirmed
from tests.worker.conftest import (
    OAI, first_params, job_rows, job_runs, job_table, oai_page, route_hf, route_oai_chain, start, wait_until, worker_env,
)

UTC = timezone.utc
START = datetime(2026, 8, 19, 0, 0, tzinfo=UTC)  # a Wednesday
END = START + timedelta(hours=24)
JOBS = {"source:hf-daily", "source:arxiv-math", "search-index", "digests", "digest-retries", "backup"}


def quiet_at(database, now: datetime) -> bool:
    """Every job has its row, none is held, none is due at ``now``: the workers are done with it."""
    rows = job_rows(database)
    return JOBS <= set(rows) and all(
        row.holder is None and (row.next_run_at is None or row.next_run_at > now) and row.requests <= row.served
        for row in rows.values()
    )


def slots(first: datetime, step: timedelta, end: datetime = END) -> list[datetime]:
    found = []
    while first < end:
        found.append(first)
        first += step
    return found


@pytest.mark.slow
def test_three_workers_run_each_job_once_per_slot_for_a_day(database, replay, simulated, sink, tmp_path):
    route_hf(replay, {date(2026, 8, 18): "2026-08-18", date(2026, 8, 19): "2026-08-19"})
    sources.add(database, sources.arxiv_category("math", backfill_days=1))  # daily at 23:00 New York = 03:00 UTC
    route_oai_chain(replay, date(2026, 8, 18), "math")
    replay.route(OAI, first_params(date(2026, 8, 19), "math"), oai_page("arxiv_oai/mikesaelim_ErrorResponseNoRecordsMatch.xml"))
    confirmed(database, 1)
    time = simulated(START)
    env = worker_env(database, replay, PAPERTIDE_DIGESTS="on", PAPERTIDE_DIGEST_TIME="07:00",
                     PAPERTIDE_DIGEST_TIMEZONE="Europe/Paris", PAPERTIDE_SMTP_HOST="127.0.0.1",
                     PAPERTIDE_SMTP_PORT=str(sink.port), PAPERTIDE_BACKUP_DIR=str(tmp_path / "backups"),
                     PAPERTIDE_BACKUP_TIME="03:30", PAPERTIDE_PG_DUMP=str(installation_dir() / "bin" / "pg_dump"))
    workers = [start("worker", "--clock-file", str(time.path), "--name", f"worker-{n}", env=env, log=tmp_path / f"worker-{n}.log")
               for n in range(3)]
    steps = 0
    try:
        while True:
            wait_until(lambda: quiet_at(database, time.now), timeout=120, processes=workers, what=f"the jobs due at {time.now}",
                       state=lambda: job_table(database))
            following = min(row.next_run_at for row in job_rows(database).values() if row.next_run_at is not None)
            if following >= END:
                break
            time.set(following)
            steps += 1
    finally:
        for worker in workers:
            worker.terminate()
        codes = [worker.wait(60) for worker in workers]
    assert codes == [0, 0, 0], [(tmp_path / f"worker-{n}.log").read_text()[-3000:] for n in range(3)]

    runs = job_runs(database)
    assert [(r.job, r.error) for r in runs if r.status != "ok"] == []
    by_job = {job: sorted((r.slot for r in runs if r.job == job), key=lambda slot: slot or START) for job in JOBS}
    assert by_job["source:hf-daily"] == slots(START, timedelta(minutes=30))  # 48 slots, one run each
    assert by_job["digest-retries"] == slots(START, timedelta(minutes=15))
    assert by_job["source:arxiv-math"] == [START, datetime(2026, 8, 19, 3, 0, tzinfo=UTC)]  # added, then 23:00 New York
    assert by_job["digests"] == [datetime(2026, 8, 18, 5, 0, tzinfo=UTC), datetime(2026, 8, 19, 5, 0, tzinfo=UTC)]
    assert by_job["backup"] == [datetime(2026, 8, 19, 3, 30, tzinfo=UTC)]
    assert by_job["search-index"] and set(by_job["search-index"]) == {None}  # asked for by harvests, not scheduled
    print(f"{steps} steps; runs per worker: {Counter(r.holder for r in runs)}")

    with database.session() as session:
        days = Counter(session.scalars(select(DailyEntry.daily_date)))
        papers = session.scalar(select(func.count()).select_from(Paper))
        embedded = session.scalar(select(func.count()).select_from(PaperEmbedding))
    assert days == {date(2026, 8, 18): 29, date(2026, 8, 19): 25}
    assert embedded == papers > 54  # the day's lists and the math papers, every one with a vector
    assert len(sink.handler.received) == 1  # one subscriber, one day with papers (the 18th), sent once
    assert len(list((tmp_path / "backups").iterdir())) == 1
