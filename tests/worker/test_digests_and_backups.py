"""The worker's other jobs: digests at their time over real SMTP (once), deferred ones retried,
and the daily backup on either backend (SQLite's online backup API, or pg_dump)."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from papertide.catalog.models import Paper
from papertide.db import is_sqlite
from papertide.worker import sources
from papertide.worker.scheduler import Worker
from tests.digest.conftest import TempFailFirst, confirmed, make_settings
from tests.worker.conftest import job_runs

UTC = timezone.utc
TUESDAY_0730_PARIS = datetime(2026, 8, 18, 5, 30, tzinfo=UTC)


def pipeline_only(database) -> None:
    """No sources: these tests are about the other jobs."""
    for source in sources.listing(database):
        sources.remove(database, source.name)


def test_the_days_digest_goes_out_at_its_time_once(papers, sink, simulated):
    pipeline_only(papers)
    confirmed(papers, 3)
    time = simulated(TUESDAY_0730_PARIS)  # the worker starts after today's 07:00 send: it catches up
    worker = Worker(papers, make_settings(papers, sink.port).with_changes(digests=True), time.clock)
    ran = {r.job: r for r in worker.run_once()}
    assert ran["digests"].ok and ran["digests"].slot == datetime(2026, 8, 18, 5, 0, tzinfo=UTC)
    received = sink.handler.wait_for(3)
    assert sorted(r.recipients[0] for r in received) == [f"reader{n}@example.org" for n in range(3)]
    assert {r.message["X-Papertide-Period"] for r in received} == {"daily:2026-08-17"}

    time.set(TUESDAY_0730_PARIS + timedelta(minutes=15))
    assert [r.job for r in worker.run_once()] == ["digest-retries"]  # no second send
    time.set(datetime(2026, 8, 24, 5, 0, tzinfo=UTC))  # Monday 07:00 in Paris: yesterday, and last week
    assert "weekly:2026-W34" in {r.job: r for r in worker.run_once()}["digests"].outcome.summary
    assert len(sink.handler.received) == 3  # weekly subscribers: none; Sunday: no papers


def test_deferred_digests_are_retried_by_the_worker(papers, smtp_server, simulated):
    pipeline_only(papers)
    confirmed(papers, 2)
    server = smtp_server(TempFailFirst(times=1))  # 451 to each first attempt
    time = simulated(TUESDAY_0730_PARIS)
    worker = Worker(papers, make_settings(papers, server.port).with_changes(digests=True), time.clock)
    ran = {r.job: r for r in worker.run_once()}
    assert "2 deferred" in ran["digests"].outcome.summary and server.handler.received == []
    time.set(TUESDAY_0730_PARIS + timedelta(minutes=15))  # the next pass over deferred deliveries
    [retry] = worker.run_once()
    assert retry.job == "digest-retries" and "2 sent" in retry.outcome.summary
    assert sorted(r.recipients[0] for r in server.handler.wait_for(2)) == ["reader0@example.org", "reader1@example.org"]


def test_the_daily_backup_is_consistent_and_keeps_the_newest(papers, simulated, tmp_path):
    from papertide.local_postgres import installation_dir

    pipeline_only(papers)
    folder = tmp_path / "backups"
    settings = make_settings(papers, 25).with_changes(backup_dir=str(folder), backup_keep=2, backup_time="03:30",
                       pg_dump=str(installation_dir() / "bin" / "pg_dump"))
    time = simulated(datetime(2026, 8, 18, 3, 0, tzinfo=UTC))
    worker = Worker(papers, settings, time.clock)
    assert worker.run_once() == []  # the first backup is at the next 03:30, not at start
    for day in (18, 19, 20):
        time.set(datetime(2026, 8, day, 3, 30, tzinfo=UTC))
        [backup] = worker.run_once()
        assert backup.ok, backup.error
    kept = sorted(path.name for path in folder.iterdir())
    suffix = ".db" if is_sqlite(papers.engine) else ".dump"
    assert kept == [f"papertide-20260819T033000Z{suffix}", f"papertide-20260820T033000Z{suffix}"]
    with papers.session() as session:
        stored = session.scalar(select(func.count()).select_from(Paper))
    assert stored == 108
    assert restored_paper_count(folder / kept[-1], settings.pg_dump) == stored
    assert [run.slot.day for run in job_runs(papers, "backup")] == [18, 19, 20]


def restored_paper_count(backup: Path, pg_dump: str) -> int:
    """Open the backup the way an admin restoring it would, and count its papers."""
    if backup.suffix == ".db":
        with sqlite3.connect(backup) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            return copy.execute("SELECT count(*) FROM papers").fetchone()[0]
    listing = subprocess.run([str(Path(pg_dump).with_name("pg_restore")), "--data-only", "--table=papers", "--file=-", str(backup)],
                             capture_output=True, text=True, check=True).stdout
    copy_block = listing.split("COPY public.papers", 1)[1].split("\\.", 1)[0]
    return len(copy_block.strip().splitlines()) - 1  # the COPY line's own end, then one line per row


def test_a_missing_pg_dump_is_a_recorded_failure_not_a_crash(papers, simulated, tmp_path):
    if is_sqlite(papers.engine):
        settings = make_settings(papers, 25).with_changes(backup_dir=str(tmp_path / "file-in-the-way" / "x"))
        (tmp_path / "file-in-the-way").write_text("not a folder")
    else:
        settings = make_settings(papers, 25).with_changes(backup_dir=str(tmp_path), pg_dump="/nonexistent/pg_dump")
    pipeline_only(papers)
    time = simulated(datetime(2026, 8, 18, 3, 30, tzinfo=UTC) - timedelta(minutes=1))
    worker = Worker(papers, settings, time.clock)
    worker.run_once()
    time.set(datetime(2026, 8, 18, 3, 30, tzinfo=UTC))
    [backup] = worker.run_once()
    assert not backup.ok and ("pg_dump" in backup.error or "Errno" in backup.error)
    assert job_runs(papers, "backup")[-1].status == "failed"
