"""``papertide serve``: the web site and API."""

from __future__ import annotations

import os
import secrets

import click

from papertide.cli.common import open_database
from papertide.cli.worker import require_digest_key
from papertide.config import get_settings
from papertide.worker.supervisor import WorkerProcess


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (they share nothing but the database).")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request (costs throughput).")
@click.option("--worker", "with_worker", is_flag=True,
              help="Also run the pipeline (`papertide worker`) as a child process: a one-process install.")
def serve(host: str, port: int, workers: int, access_log: bool, with_worker: bool) -> None:
    """Serve the site at http://HOST:PORT (uvloop and httptools when installed)."""
    import uvicorn

    open_database()
    settings = get_settings()
    if with_worker:
        require_digest_key(settings)
    elif settings.digests:
        click.echo("note: digests are sent by the worker: run `papertide worker` beside the site, or serve with --worker",
                   err=True)
    if workers > 1 and not os.environ.get("PAPERTIDE_SECRET_KEY"):
        # Every worker must sign sessions with the same key; without a configured one, make one
        # for this run (workers inherit the environment). Sessions then end when the server stops.
        os.environ["PAPERTIDE_SECRET_KEY"] = secrets.token_urlsafe(32)
        click.echo("PAPERTIDE_SECRET_KEY is not set: using a random key for this run (sessions end on restart).", err=True)
    pipeline = WorkerProcess().start() if with_worker else None  # after the key is settled: the child inherits it
    try:
        uvicorn.run("papertide.web.app:create_served_app", factory=True, host=host, port=port, workers=workers,
                    loop="auto", http="auto", access_log=access_log, log_level="info")
    finally:
        if pipeline is not None:
            pipeline.stop()
