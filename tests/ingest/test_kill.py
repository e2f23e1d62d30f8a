"""``kill -9`` in the middle of ingesting the full corpus, then ingesting again, equals one clean run."""

from __future__ import annotations

import pytest

from sqlalchemy import text

from papertide.db import Database
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.runner import BATCH_SIZE, ingest
from tests.conftest import DEMO_CORPUS
from tests.ingest.conftest import kill_when, run_cli, start_cli
from tests.ingest.dump import canonical_dump

CORPUS_SIZE = 9919  # 9,877 Daily Papers and 42 papers of the saved search page (local ids)


def paper_count(database: Database) -> int:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM papers")).scalar_one()


@pytest.mark.slow
def test_kill_9_mid_ingest_then_again_equals_one_clean_run(database, make_database):
    process = start_cli("ingest", "--quiet", str(DEMO_CORPUS), database_url=database.url)
    kill_when(process, lambda: paper_count(database) >= 2 * BATCH_SIZE)  # at least two batches committed
    stored = paper_count(database)
    assert 2 * BATCH_SIZE <= stored < CORPUS_SIZE  # killed part-way, whole batches only
    assert stored % BATCH_SIZE == 0

    again = run_cli("ingest", "--quiet", str(DEMO_CORPUS), database_url=database.url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == (
        f"added {CORPUS_SIZE - stored:,} / updated 0 / unchanged {stored:,} / rejected 0".encode()
    )

    clean = make_database()
    ingest(clean, JsonlSource(DEMO_CORPUS), progress=False)
    assert canonical_dump(database) == canonical_dump(clean)
