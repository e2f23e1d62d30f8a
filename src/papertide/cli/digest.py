"""``papertide digest run|preview|subscribers``: email digests from the command line (and cron)."""

from __future__ import annotations

from datetime import date, datetime

import click

from papertide.cli.common import open_database
from papertide.config import get_settings


def _today(settings) -> date:
    from papertide.digest.schedule import parse_timezone

    return datetime.now(parse_timezone(settings.digest_timezone)).date()


def _period(frequency: str, day: str | None, settings):
    from papertide.digest.periods import DigestPeriod

    if day:
        try:
            return DigestPeriod.containing(frequency, date.fromisoformat(day))
        except ValueError as error:
            raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date") from error
    return DigestPeriod.last_complete(frequency, _today(settings))


@click.group()
def digest() -> None:
    """Email digests: record, send, preview, and list subscribers."""


@digest.command("run")
@click.option("--period", "frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True)
@click.option("--date", "day", metavar="YYYY-MM-DD", help="Send the period holding this day (default: the last complete one).")
@click.option("--dry-run", is_flag=True, help="Say what would be recorded; record and send nothing.")
@click.option("--retry-window", type=float, default=120.0, show_default=True,
              help="Seconds this run waits for deferred deliveries to come due before leaving them to the next run.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Outbox rows claimed at a time.")
def run(frequency: str, day: str | None, dry_run: bool, retry_window: float, batch_size: int) -> None:
    """Record the period's digests in the outbox and deliver everything pending.

    Safe to run again, from cron, or twice at once: each confirmed subscriber gets each period's
    digest once. Exit status 1 when delivery stopped early (SMTP server down or refusing us).
    """
    from datetime import timedelta

    from papertide.digest.run import DeliveryPolicy, run_digests

    settings = get_settings()
    if not dry_run and not settings.secret_key_configured:
        raise click.ClickException(
            "PAPERTIDE_SECRET_KEY is not set: the unsubscribe and preference links in digests are signed with it, "
            "and must verify on the web server. Set the same key for `papertide serve` and this command."
        )
    database = open_database()
    period = _period(frequency, day, settings)
    policy = DeliveryPolicy(retry_window=timedelta(seconds=retry_window), batch_size=batch_size)
    report = run_digests(database, settings, period, dry_run=dry_run, policy=policy)
    for line in report.lines():
        click.echo(line)
    if report.stopped:
        raise SystemExit(1)


@digest.command()
@click.argument("subscriber", required=False)
@click.option("--period", "frequency", type=click.Choice(["daily", "weekly"]), help="Default: the subscriber's own.")
@click.option("--format", "fmt", type=click.Choice(["text", "html", "eml"]), default="text", show_default=True)
def preview(subscriber: str | None, frequency: str | None, fmt: str) -> None:
    """Show the next digest of SUBSCRIBER (id or email), or a sample one."""
    from papertide.digest import subscriptions
    from papertide.digest.preview import preview_digest

    settings = get_settings()
    database = open_database()
    subscription = None
    if subscriber:
        subscription = subscriptions.find(database, subscriber)
        if subscription is None:
            raise click.ClickException(f"no subscriber {subscriber!r}")
    result = preview_digest(database, settings, subscription, today=_today(settings), frequency=frequency)
    if result is None:
        raise click.ClickException("no papers on the list yet: nothing to preview")
    if result.note:
        click.echo(result.note, err=True)
    if fmt == "eml":
        click.echo(result.message.as_string())
    else:
        click.echo(result.part("plain" if fmt == "text" else "html"))


@digest.command()
@click.option("--status", type=click.Choice(["pending", "confirmed", "unsubscribed", "bounced"]))
@click.option("--limit", type=int, default=50, show_default=True)
def subscribers(status: str | None, limit: int) -> None:
    """Counts by status and frequency, then the first LIMIT subscriptions."""
    from papertide.digest import outbox, subscriptions

    database = open_database()
    for key, count in sorted(subscriptions.counts(database).items()):
        click.echo(f"{key:<24} {count:>8,}")
    queued = outbox.status_counts(database)
    if queued:
        click.echo("outbox: " + ", ".join(f"{count:,} {name}" for name, count in sorted(queued.items())))
    for subscription in subscriptions.listing(database, status, limit):
        interests = ", ".join([*subscription.topics, *subscription.follow_organizations, *subscription.follow_authors])
        click.echo(
            f"{subscription.id:>6}  {subscription.email:<40} {subscription.status:<12} {subscription.frequency:<7} "
            f"{subscription.content:<9} {subscription.max_papers:>3}  {interests}"
        )
