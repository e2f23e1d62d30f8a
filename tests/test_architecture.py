"""The house holds: imports run one way down the layers (import-linter reads the contracts in
pyproject.toml), and modules stay small enough to read top-down."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "src" / "papertide"
MAX_LINES = 400  # a module longer than this has more than one job


def test_imports_follow_the_layers_and_the_search_wings_stay_apart():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_no_module_is_longer_than_a_newcomer_reads_at_once():
    long = {str(path.relative_to(SOURCE)): lines for path in SOURCE.rglob("*.py")
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules (more than {MAX_LINES} lines): {long}"
