"""The jobs a worker runs, rebuilt from the database and the settings on every pass, so a source
added on the admin page or from the command line is picked up without restarting anything.

In the order a pass runs them when several are due: every source (harvest), then the readers'
submissions that wait for arXiv (a job only while some do), then the search index (asked for by
a harvest or a submission that changed papers), then digests and their retries, then
thumbnails, then the backup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from papertide.community import submission_queue
from papertide.config import Settings
from papertide.db import Database
from papertide.worker import pipeline, sources
from papertide.worker.context import JobContext, Outcome
from papertide.worker.leases import Claim
from papertide.worker.schedules import DailyAt, Every, Schedule

INDEX = pipeline.INDEX
DIGESTS = "digests"
DIGEST_RETRIES = "digest-retries"
BACKUP = "backup"
THUMBNAILS = "thumbnails"
SUBMISSIONS = "submissions"
SUBMISSIONS_EVERY = 1  # minutes between looks at the queued submissions (each has its own backoff)
THUMBNAILS_EVERY = 60  # minutes between runs of the thumbnails job
DIGEST_RETRY_EVERY = 15  # minutes between passes over deferred digest deliveries


@dataclass(frozen=True)
class Job:
    name: str
    schedule: Schedule | None  # None: runs only when asked (``leases.request_run``)
    body: Callable[[JobContext, Claim], Outcome]
    first_due: str = "now"  # a new job is due: "now", at its "last" slot (catch up), its "next", or when "asked"

    def first_run_at(self, now: datetime) -> datetime | None:
        if self.schedule is None or self.first_due == "asked":
            return None
        if self.first_due == "last":
            return self.schedule.last_at_or_before(now)
        return now if self.first_due == "now" else self.schedule.next_after(now)

    def next_run_at(self, now: datetime, failures: int) -> datetime | None:
        """After a run at ``now``: the next slot, or, after ``failures`` failures in a row, a retry
        that backs off (1, 2, 4 ... minutes, at most an hour) unless the next slot comes first."""
        scheduled = self.schedule.next_after(now) if self.schedule else None
        if not failures:
            return scheduled
        retry = now + min(timedelta(minutes=2 ** (failures - 1)), timedelta(hours=1))
        return min(retry, scheduled) if scheduled else retry


def current_jobs(database: Database, settings: Settings) -> list[Job]:
    """Every job of this installation now, in the order a pass runs them."""
    jobs = [Job(sources.job_name(source.name), sources.schedule_of(source), pipeline.source_body(source.name))
            for source in sources.listing(database)]
    if submission_queue.next_due_at(database) is not None:
        jobs.append(Job(SUBMISSIONS, Every(SUBMISSIONS_EVERY), pipeline.finish_submissions))
    jobs.append(Job(INDEX, None, pipeline.refresh_index, first_due="asked"))
    if settings.digests:
        jobs.append(Job(DIGESTS, DailyAt.parse(settings.digest_time, settings.digest_timezone), pipeline.send_digests, "last"))
        jobs.append(Job(DIGEST_RETRIES, Every(DIGEST_RETRY_EVERY), pipeline.retry_digests))
    if settings.thumbnails:
        jobs.append(Job(THUMBNAILS, Every(THUMBNAILS_EVERY), pipeline.render_thumbnails))
    if settings.backup_dir:
        jobs.append(Job(BACKUP, DailyAt.parse(settings.backup_time, "UTC"), pipeline.back_up, "next"))
    return jobs
