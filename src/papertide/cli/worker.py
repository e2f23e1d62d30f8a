"""``papertide worker``: the daily pipeline, as a long-running process or one pass (``--once``)."""

from __future__ import annotations

import logging
import signal

import click

from papertide.cli.common import open_database
from papertide.config import Settings, get_settings


def require_digest_key(settings: Settings) -> None:
    if settings.digests and not settings.secret_key_configured:
        raise click.ClickException("PAPERTIDE_DIGESTS=on needs PAPERTIDE_SECRET_KEY: digest links are signed with it "
                                   "and must verify on the web server")


def stop_on_signals(worker) -> None:
    """SIGTERM (systemd, docker, ``serve --worker`` stopping) and Ctrl-C stop the worker; a job that
    is running gives its lease back, so the next worker takes it over without waiting for it to expire."""
    def handler(signum, frame):
        worker.interrupt()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@click.command()
@click.option("--once", is_flag=True, help="Run each job that is due now, then exit (cron, tests, 'run now').")
@click.option("--quiet", "-q", is_flag=True, help="With --once: no progress bars.")
@click.option("--name", help="This worker's name in leases and logs (default: host:pid:random).")
@click.option("--clock-file", type=click.Path(dir_okay=False), hidden=True,
              help="Read the time from this file instead of the system clock (simulations and tests).")
def worker(once: bool, quiet: bool, name: str | None, clock_file: str | None) -> None:
    """Run the pipeline: harvest every source when due, embed and index new papers, send digests,
    take backups. Any number of workers may run, on any machines: each job runs in one at a time.

    Exit status of --once: 1 if a job failed (its error is also recorded on the Sources page).
    """
    from papertide.worker.clock import FileClock, SystemClock
    from papertide.worker.scheduler import Worker

    settings = get_settings()
    require_digest_key(settings)
    database = open_database()
    clock = FileClock(clock_file) if clock_file else SystemClock()
    runner = Worker(database, settings, clock, name=name, progress=once and not quiet)
    stop_on_signals(runner)
    if not once:
        if not logging.getLogger().handlers:  # the site's logging setup may have configured it already
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        runner.run_forever()
        return
    results = runner.run_once()
    for result in results:
        click.echo(result.line())
    if not results:
        click.echo("nothing due")
    if any(not result.ok for result in results):
        raise SystemExit(1)
