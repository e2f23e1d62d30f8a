"""The bodies of the worker's jobs: each calls one service and says what it did.

A harvest that added or changed papers asks for the search-index job, which the same pass runs
next (or, if another worker is indexing right now, that worker runs again once it is done), so
new papers are embedded and searchable without anyone running ``papertide index``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy import update

from papertide.catalog import versions
from papertide.worker import leases, sources
from papertide.worker.context import JobContext, JobFailed, Outcome
from papertide.worker.leases import Claim
from papertide.worker.models import Source

INDEX = "search-index"
THUMBNAILS_PER_RUN = 60  # papers a run tries: about three minutes at arXiv's pace of one request per 3 s


def source_body(name: str):
    """The job body that harvests the source called ``name``."""
    return partial(harvest_source, name)


def harvest_source(name: str, ctx: JobContext, claim: Claim) -> Outcome:
    from papertide.worker.harvest import harvest

    source = sources.get(ctx.database, name)
    if source is None:
        return Outcome(summary="the source was removed")
    now = ctx.clock.now()
    summary = harvest(ctx.database, ctx.settings, source, now, progress=ctx.progress)
    counts = summary.counts
    outcome = Outcome(counts.added, counts.updated, summary.line())
    with ctx.database.session() as session:
        values = {"papers_added": Source.papers_added + counts.added}
        if not summary.error:
            values["harvested_at"] = now
            versions.bump(session, versions.CATALOG)  # cached pages show the new "updated" time
        session.execute(update(Source).where(Source.name == name).values(**values))
    if counts.added or counts.updated:
        leases.request_run(ctx.database, INDEX)
    if summary.error:
        raise JobFailed(summary.error, outcome)
    return outcome


def refresh_index(ctx: JobContext, claim: Claim) -> Outcome:
    from papertide.worker.indexing import refresh_search_indexes

    return Outcome(summary=refresh_search_indexes(ctx.database, ctx.settings, claim.holder, clock=ctx.clock, stop=ctx.stop,
                                                  progress=ctx.progress))


def finish_submissions(ctx: JobContext, claim: Claim) -> Outcome:
    """Ask arXiv again about the submissions it did not answer in time (at the installation's
    pace, once each: the queue's backoff is the retry), and put those it answers on the list."""
    from papertide.community import submission_queue
    from papertide.ingest.arxiv_api import ArxivClient
    from papertide.ingest.http import PoliteFetcher
    from papertide.ingest.pacing import DatabasePacer

    fetcher = PoliteFetcher(delay=ctx.settings.arxiv_delay, retries=0, timeout=60.0, pacer=DatabasePacer(ctx.database))
    try:
        progress = submission_queue.finish_due(ctx.database, ArxivClient(ctx.settings.arxiv_api_url, fetcher).fetch_paper,
                                               now=ctx.clock.now(), stop=ctx.stop)
    finally:
        fetcher.close()
    if progress.done:
        leases.request_run(ctx.database, INDEX)
    return Outcome(added=progress.done, summary=progress.line())


def _delivery_policy():
    from papertide.digest.run import DeliveryPolicy

    # The worker does not wait inside a run for deferred rows to come due: digest-retries comes back for them.
    return DeliveryPolicy(retry_window=timedelta(0))


def send_digests(ctx: JobContext, claim: Claim) -> Outcome:
    """Record and send the digests of the latest send time (yesterday's; last week's too on Mondays).
    After days without a worker that is the one that matters: older days are not sent late."""
    from papertide.digest.run import run_digests
    from papertide.digest.schedule import periods_due, parse_timezone
    from papertide.worker.schedules import DailyAt

    settings = ctx.settings
    slot = DailyAt.parse(settings.digest_time, settings.digest_timezone).last_at_or_before(ctx.clock.now())
    lines, stopped = [], []
    for period in periods_due(slot, parse_timezone(settings.digest_timezone)):
        report = run_digests(ctx.database, settings, period, policy=_delivery_policy(), clock=ctx.clock.now, stop=ctx.stop)
        lines += report.lines()
        if report.stopped:
            stopped.append(report.stopped)
    outcome = Outcome(summary="; ".join(lines))
    if stopped:
        raise JobFailed(f"delivery stopped early: {stopped[0]} (the rest stays queued)", outcome)
    return outcome


def retry_digests(ctx: JobContext, claim: Claim) -> Outcome:
    """Deliver deferred digests that have come due since the last pass."""
    from papertide.digest import outbox
    from papertide.digest.run import deliver

    due = outbox.next_due(ctx.database)
    if due is None or due > ctx.clock.now():
        return Outcome(summary="nothing due")
    report = deliver(ctx.database, ctx.settings, policy=_delivery_policy(), clock=ctx.clock.now, stop=ctx.stop)
    outcome = Outcome(summary="; ".join(report.lines()))
    if report.stopped:
        raise JobFailed(f"delivery stopped early: {report.stopped}", outcome)
    return outcome


def back_up(ctx: JobContext, claim: Claim) -> Outcome:
    from papertide.worker.backups import take_backup

    path = take_backup(ctx.database, ctx.settings, ctx.clock.now())
    return Outcome(summary=f"wrote {path} ({path.stat().st_size / 1e6:,.1f} MB)")


def render_thumbnails(ctx: JobContext, claim: Claim) -> Outcome:
    """Thumbnails of the newest daily-list papers: a failed PDF is tried again later by
    ``fetch_thumbnails`` itself, so the job fails only when nothing could be fetched at all."""
    from papertide.ingest.thumbnails import fetch_thumbnails

    run = fetch_thumbnails(ctx.database, ctx.settings, THUMBNAILS_PER_RUN, now=ctx.clock.now(), stop=ctx.stop)
    outcome = Outcome(added=run.done, summary=run.line())
    if run.failed and not run.done and not run.missing:
        raise JobFailed(f"no PDF could be fetched ({run.failed:,} tried)", outcome)
    return outcome
