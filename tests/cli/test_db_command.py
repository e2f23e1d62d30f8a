"""``papertide db copy`` refuses a URL it cannot use in one line, before opening anything."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("url, expected", [
    ("postgresql+psycopg2://reader@127.0.0.1/papertide", "write postgresql+psycopg://"),
    ("mysql://reader@127.0.0.1/papertide", "SQLite or PostgreSQL"),
    ("not a url", "not a database URL"),
])
def test_db_copy_refuses_an_unusable_url_without_a_traceback(url, expected, tmp_path):
    source = f"sqlite:///{tmp_path / 'papertide.db'}"
    done = subprocess.run([sys.executable, "-m", "papertide", "db", "copy", "--from", source, "--to", url, "--quiet"],
                          capture_output=True, text=True, env={**os.environ, "PAPERTIDE_DATABASE_URL": source}, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--to" in done.stderr and expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "papertide.db").exists()  # nothing was opened, not even the source
