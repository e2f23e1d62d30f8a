"""Which workers of one ``papertide serve --workers N`` are warm, so that any of them can answer
``/readyz`` for the whole server.

A probe reaches whichever worker accepts its connection, and a load balancer that hears 200
sends readers to every worker behind the socket: one still loading its model gave the first
search after readiness 2.9 s (``benchmarks/first_search.py``). So ``serve`` makes a folder for
the run and tells the workers it starts how many they are (``share``, in the environment they
inherit); each worker, once warm, leaves a mark there (``mark``): a file named by its process id
that it holds locked (``flock``) for as long as it lives. ``waiting`` is N less the marks still
locked. The kernel drops a lock when its process ends, so a worker that died (uvicorn starts
another) stops counting at once, and the server is unready until its successor is warm. Marks are
never removed while the server runs: a stale one is an unlocked file, which counts for nothing.

N is the number ``serve`` started; uvicorn's SIGTTIN and SIGTTOU, which change it, are not
followed.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

FOLDER_ENV = "PAPERTIDE_WARM_WORKERS_DIR"
COUNT_ENV = "PAPERTIDE_WARM_WORKERS"


class WorkerMarks:
    """The marks folder of one server run, and how many workers that server started."""

    def __init__(self, folder: Path | str, workers: int):
        self.folder, self.workers = Path(folder), workers
        self._held: list[int] = []  # this process's marks: open, locked, never closed

    @classmethod
    def share(cls, workers: int) -> "WorkerMarks":
        """A new folder for this run, named (with ``workers``) in the environment the workers
        inherit, and removed when this process exits."""
        folder = tempfile.mkdtemp(prefix="papertide-warm-workers-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ[FOLDER_ENV], os.environ[COUNT_ENV] = folder, str(workers)
        return cls(folder, workers)

    @classmethod
    def from_environment(cls) -> "WorkerMarks | None":
        """The marks ``share`` set up for this worker's server; None for a server of one worker."""
        folder, workers = os.environ.get(FOLDER_ENV), os.environ.get(COUNT_ENV)
        return cls(folder, int(workers)) if folder and workers and int(workers) > 1 else None

    def mark(self, name: str | None = None) -> None:
        """Say this worker is warm, for as long as it lives. ``name``: the mark's (tests stand
        in for several workers), by default this process's id."""
        descriptor = os.open(self.folder / (name or str(os.getpid())), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        self._held.append(descriptor)

    def release(self) -> None:
        """Take back this process's marks, as its exit would."""
        while self._held:
            os.close(self._held.pop())

    def waiting(self) -> int:
        """How many of the server's workers are not warm yet (or not warm any more)."""
        return max(0, self.workers - sum(1 for path in self.folder.iterdir() if _held_by_someone(path)))


def _held_by_someone(path: Path) -> bool:
    """True while a live process holds ``path`` locked (a shared lock of our own would not be granted)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # also drops the shared lock if it was granted
    return False
