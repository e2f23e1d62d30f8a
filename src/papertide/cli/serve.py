"""``papertide serve``: the web site and API."""

from __future__ import annotations

import os

import click

from papertide.cli.common import open_database
from papertide.config import get_settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (needs a secret key set).")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the site at http://HOST:PORT."""
    import uvicorn

    database = open_database()
    settings = get_settings()
    if settings.digests:  # PAPERTIDE_DIGESTS=on: send digests from this process (see digest/schedule.py)
        from papertide.digest.schedule import start_scheduler

        if not os.environ.get("PAPERTIDE_SECRET_KEY"):
            raise click.ClickException("PAPERTIDE_DIGESTS=on needs PAPERTIDE_SECRET_KEY: digest links are signed with it")

        start_scheduler(database, settings)
    uvicorn.run("papertide.web.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info")
