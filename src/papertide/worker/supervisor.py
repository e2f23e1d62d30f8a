"""``papertide serve --worker``: the worker as a supervised child process of the serving process.

A child process rather than a thread of the web server: harvest parsing and document embedding
are seconds of CPU-bound Python and model arithmetic that would otherwise hold the web process's GIL while
readers wait, the embedding model's memory stays out of the web process, and a crash in a job
cannot take the site down. It is the same ``papertide worker`` a larger installation runs on its
own; the parent starts it again if it dies (waiting longer after each quick death) and stops it
when the site stops.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

log = logging.getLogger("papertide.worker")
COMMAND = [sys.executable, "-m", "papertide", "worker"]
QUICK_DEATH = 60.0  # seconds: a worker that dies sooner is restarted after a growing pause
MAX_PAUSE = 60.0


class WorkerProcess:
    def __init__(self, command: list[str] | None = None):
        self.command = command or COMMAND
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="worker-supervisor", daemon=True)

    def start(self) -> "WorkerProcess":
        self._thread.start()
        return self

    def _supervise(self) -> None:
        pause = 1.0
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command)
            started = time.monotonic()
            code = self.process.wait()
            if self._stopping.is_set():
                return
            pause = 1.0 if time.monotonic() - started > QUICK_DEATH else min(pause * 2, MAX_PAUSE)
            log.warning("the worker exited with status %s; starting it again in %.0f s", code, pause)
            self._stopping.wait(pause)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the worker to stop (it hands its job's lease back), then make sure it has."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._thread.join(timeout)
