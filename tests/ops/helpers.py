"""Running the real ``papertide`` command and server in child processes, as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from papertide.local_postgres import free_port
from tests.conftest import REPO

SECRET = "papertide-ops-test-secret"


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without any PAPERTIDE_* setting (the developer's shell must not leak in),
    with this checkout's code first on the path, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERTIDE_", "PROMETHEUS_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return {**env, **extra}


def papertide(*args: str, cwd: Path, env: dict[str, str], python: str = sys.executable,
              timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "papertide", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@contextmanager
def served(database_url: str, directory: Path, *, workers: int = 1, log: Path | None = None,
           **settings: str) -> Iterator[str]:
    """``papertide serve`` on a free loopback port until the block ends; yields its base URL
    once it answers /healthz. Its log (stderr, and the access log on stdout) goes to ``log``."""
    port = free_port()
    env = clean_environment(PAPERTIDE_DATABASE_URL=database_url, PAPERTIDE_SECRET_KEY=SECRET,
                            PAPERTIDE_BASE_URL=f"http://127.0.0.1:{port}",
                            **{f"PAPERTIDE_{name.upper()}": value for name, value in settings.items()})
    log = log or directory / "serve.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "papertide", "serve", "--port", str(port), "--workers",
                                    str(workers)], cwd=directory, env=env, stdout=stderr, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", process, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(url: str, process: subprocess.Popen, log: Path, status: int = 200, timeout: float = 120) -> httpx.Response:
    """Poll ``url`` until it answers ``status`` (bounded in time; fails if the server dies)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            last = httpx.get(url, timeout=5)
            if last.status_code == status:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling interval, not synchronisation
    raise AssertionError(f"{url} did not answer {status} within {timeout:.0f}s (last: {last and last.text[:300]})")
