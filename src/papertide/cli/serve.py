"""``papertide serve``: the web site and API."""

from __future__ import annotations

import os
import secrets

import click

from papertide.cli.common import open_database
from papertide.config import get_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (they share nothing but the database).")
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request (costs throughput).")
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the site at http://HOST:PORT (uvloop and httptools when installed)."""
    import uvicorn

    database = open_database()
    settings = get_settings()
    if settings.digests:  # PAPERTIDE_DIGESTS=on: send digests from this process (see digest/schedule.py)
        from papertide.digest.schedule import start_scheduler

        if not os.environ.get("PAPERTIDE_SECRET_KEY"):
            raise click.ClickException("PAPERTIDE_DIGESTS=on needs PAPERTIDE_SECRET_KEY: digest links are signed with it")

        start_scheduler(database, settings)
    if workers > 1 and not os.environ.get("PAPERTIDE_SECRET_KEY"):
        # Every worker must sign sessions with the same key; without a configured one, make one
        # for this run (workers inherit the environment). Sessions then end when the server stops.
        os.environ["PAPERTIDE_SECRET_KEY"] = secrets.token_urlsafe(32)
        click.echo("PAPERTIDE_SECRET_KEY is not set: using a random key for this run (sessions end on restart).", err=True)
    uvicorn.run("papertide.web.app:create_served_app", factory=True, host=host, port=port, workers=workers,
                loop="auto", http="auto", access_log=access_log, log_level="info")
