"""The daily backup, where ``PAPERTIDE_BACKUP_DIR`` is set: a consistent copy taken while the site runs.

* SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database as of one
  read transaction, WAL included, without blocking writers. Never ``cp`` a live file.
* PostgreSQL: ``pg_dump --format=custom`` (one snapshot; restore with ``pg_restore``), found as
  ``PAPERTIDE_PG_DUMP`` (default ``pg_dump`` on PATH; its major version must be at least the
  server's). No pg_dump, no backup: the job fails and says so, every day, on the Sources page.

Each backup is written under a temporary name and renamed when complete, so the folder never
holds half a backup under a real name; then all but the newest ``PAPERTIDE_BACKUP_KEEP`` go.
Search files beside a SQLite database (vector graph, impact index) are derived data: ``papertide
index`` rebuilds them, so they are not copied.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from papertide.config import Settings
from papertide.db import Database, is_sqlite

PREFIX = "papertide-"


class BackupError(RuntimeError):
    """The backup could not be taken; the message says why."""


def take_backup(database: Database, settings: Settings, now: datetime) -> Path:
    """Write one backup of ``database`` into ``settings.backup_dir``, prune old ones, return its path."""
    if not settings.backup_dir:
        raise BackupError("no backup folder configured (PAPERTIDE_BACKUP_DIR)")
    folder = Path(settings.backup_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".db" if is_sqlite(database.engine) else ".dump"
    target = folder / f"{PREFIX}{now:%Y%m%dT%H%M%SZ}{suffix}"
    partial = target.with_name(target.name + ".partial")
    try:
        if suffix == ".db":
            _sqlite_backup(database, partial)
        else:
            _pg_dump(database, settings, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    prune(folder, suffix, settings.backup_keep)
    return target


def prune(folder: Path, suffix: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups (their names sort by time); the deleted paths."""
    backups = sorted(folder.glob(f"{PREFIX}*{suffix}"))
    old = backups[: max(len(backups) - max(keep, 1), 0)]
    for path in old:
        path.unlink()
    return old


def _sqlite_backup(database: Database, target: Path) -> None:
    path = make_url(database.url).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        with destination:
            source.backup(destination)
    finally:
        destination.close()
        source.close()


def _pg_dump(database: Database, settings: Settings, target: Path) -> None:
    binary = shutil.which(settings.pg_dump)
    if binary is None:
        raise BackupError(f"{settings.pg_dump!r} not found: install the PostgreSQL client of the server's version, "
                          "or set PAPERTIDE_PG_DUMP to it (or unset PAPERTIDE_BACKUP_DIR and back up otherwise)")
    url = make_url(database.url)
    # The password goes through the environment, not the command line that `ps` shows.
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    environment = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    done = subprocess.run([binary, "--format=custom", f"--file={target}", f"--dbname={libpq}"],
                          env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()[-1000:]}")
