"""``papertide serve``: the web site and API."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile

import click

from papertide.cli.common import open_database
from papertide.cli.worker import require_digest_key
from papertide.config import get_settings
from papertide.warm_workers import WorkerMarks
from papertide.worker.supervisor import WorkerProcess


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes (they share nothing but the database).")
@click.option("--access-log/--no-access-log", default=None,
              help="Log every request with its id and duration (default PAPERTIDE_ACCESS_LOG, on; costs throughput).")
@click.option("--forwarded-allow-ips", metavar="ADDRESSES",
              help="The reverse proxy's addresses, the only ones whose X-Forwarded-For/-Proto are believed "
                   "(default PAPERTIDE_FORWARDED_ALLOW_IPS: 127.0.0.1,::1).")
@click.option("--worker", "with_worker", is_flag=True,
              help="Also run the pipeline (`papertide worker`) as a child process: a one-process install.")
def serve(host: str, port: int, workers: int, access_log: bool | None, forwarded_allow_ips: str | None,
          with_worker: bool) -> None:
    """Serve the site at http://HOST:PORT (uvloop and httptools when installed)."""
    import uvicorn

    open_database()
    settings = get_settings()
    if with_worker:
        require_digest_key(settings)
    elif settings.digests:
        click.echo("note: digests are sent by the worker: run `papertide worker` beside the site, or serve with --worker",
                   err=True)
    if workers > 1 and not settings.secret_key_configured:
        # Every worker must sign sessions with the same key; without a configured one, make one
        # for this run (workers inherit the environment). Sessions then end when the server stops.
        os.environ["PAPERTIDE_SECRET_KEY"] = secrets.token_urlsafe(32)
        click.echo("PAPERTIDE_SECRET_KEY is not set: using a random key for this run (sessions end on restart).", err=True)
    if access_log is not None:  # the workers read it from the settings, like everything else
        os.environ["PAPERTIDE_ACCESS_LOG"] = "1" if access_log else "0"
        get_settings.cache_clear()  # one worker runs in this process, with settings read already
    if workers > 1 or settings.metrics_dir:
        _share_metrics(settings.metrics_dir)
    if workers > 1:  # each worker's /readyz answers for all: 200 once every one is warm
        WorkerMarks.share(workers)
    pipeline = WorkerProcess().start() if with_worker else None  # after the key is settled: the child inherits it
    try:
        # The app logs each request itself (web/observability.py) and the logging setup is papertide's.
        uvicorn.run("papertide.web.app:create_served_app", factory=True, host=host, port=port, workers=workers,
                    loop="auto", http="auto", access_log=False, log_config=None, log_level=settings.log_level.lower(),
                    proxy_headers=True, forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips)
    finally:
        if pipeline is not None:
            pipeline.stop()


def _share_metrics(configured: str) -> None:
    """Give the workers one Prometheus multi-process directory, so /metrics adds them all up:
    PAPERTIDE_METRICS_DIR cleared of files of processes that are gone, or a new one for this run."""
    from papertide.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

    directory = os.environ.get(MULTIPROC_ENV) or configured
    if not directory:
        directory = tempfile.mkdtemp(prefix="papertide-metrics-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    os.environ[MULTIPROC_ENV] = str(prepare_multiprocess_dir(directory))
