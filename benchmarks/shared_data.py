"""Where the benchmarks find ``shared/data`` (the corpora, queries and judgments beside the checkout).

It is looked for beside the repository and beside each folder above it, so that a git worktree
kept in a subfolder (``wt/base``) finds the same data as the main checkout; ``PAPERTIDE_SHARED_DATA``
overrides. A benchmark that silently fell back to other queries in a worktree once made two
commits' figures incomparable: every benchmark takes the path from here.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PAPERTIDE_SHARED_DATA") or next(
    (folder / "shared" / "data" for folder in REPO.parents if (folder / "shared" / "data").is_dir()), REPO.parent / "shared" / "data"))
KNOWN_ITEM_QUERIES = SHARED_DATA / "benchmark_known_item" / "queries.jsonl"
