"""Ingest test helpers: the replay server, the recorded responses, the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

from tests.conftest import FIXTURES, REPO
from tests.ingest.replay import ReplayServer

RECORDED = FIXTURES / "recorded"

# Fuzzing (test_fuzz.py) in bounded time: a fixed number of examples per test, no deadline per example
# (the machine is shared: a slow example is not a bug), no database of examples (a failure prints the
# blob that replays it). Under CI the examples are derandomized, the same every run;
# PAPERTIDE_FUZZ_EXAMPLES asks for a longer hunt.
settings.register_profile("dev", max_examples=int(os.environ.get("PAPERTIDE_FUZZ_EXAMPLES", "40")), deadline=None,
                          database=None, print_blob=True)
settings.register_profile("ci", settings.get_profile("dev"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ATOM = "application/atom+xml; charset=utf-8"
XML = "text/xml; charset=utf-8"
JSON = "application/json; charset=utf-8"


@pytest.fixture
def replay():
    server = ReplayServer().start()
    yield server
    server.stop()


def run_cli(*args: str, database_url: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """``papertide ARGS...`` as a user runs it: a separate process, this checkout's code."""
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PAPERTIDE_DATABASE_URL": database_url, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from papertide.cli import main; main()", *args],
        input=stdin, capture_output=True, env=environment, timeout=timeout, cwd=REPO,
    )


def start_cli(*args: str, database_url: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PAPERTIDE_DATABASE_URL": database_url}
    return subprocess.Popen(
        [sys.executable, "-c", "from papertide.cli import main; main()", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment, cwd=REPO,
    )


def recorded(relative: str) -> Path:
    return RECORDED / relative
