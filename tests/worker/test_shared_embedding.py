"""Embedding shared by real processes through the database: each paper embedded by exactly one of
them, and a process killed mid-batch loses nothing (its batch is redone once its lease expires)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from papertide.catalog.models import Paper
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.runner import ingest
from papertide.search.semantic.embedder import document_text
from papertide.search.semantic.indexer import text_hash
from papertide.search.semantic.models import PaperEmbedding
from papertide.worker.embedding import queue_missing, waiting
from papertide.worker.models import EmbeddingClaim
from papertide.worker.scheduler import HELP_EMBED, Worker
from tests.conftest import DEMO_CORPUS, REPO
from tests.worker.conftest import settings_for

PAPERS = 3000


@pytest.fixture
def catalog(database, tmp_path):
    """The first ``PAPERS`` papers of the demo corpus, without vectors."""
    with gzip.open(DEMO_CORPUS, "rb") as corpus:
        path = tmp_path / "papers.jsonl"
        path.write_bytes(b"".join(line for _, line in zip(range(PAPERS), corpus)))
    assert ingest(database, JsonlSource(path), progress=False).counts.added == PAPERS
    return database


def texts_of(database) -> dict[str, int]:
    with database.session() as session:
        return {document_text(t, a or ""): i for i, t, a in session.execute(select(Paper.id, Paper.title, Paper.abstract))}


def start(database, name: str, log, *options: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.worker.embed_child", database.url, name, str(log), *options],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
        env={**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO}"},
    )
    assert process.stdout.readline() == b"ready\n", process.stderr.read().decode()
    return process


def go(process: subprocess.Popen) -> None:
    process.stdin.write(b"go\n")
    process.stdin.flush()


def logged(path) -> list[str]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_every_paper_has_its_one_current_vector(database) -> None:
    with database.session() as session:
        stored = dict(session.execute(select(PaperEmbedding.paper_id, PaperEmbedding.text_hash)).all())
        papers = session.execute(select(Paper.id, Paper.title, Paper.abstract)).all()
        claims = session.scalar(select(func.count()).select_from(EmbeddingClaim))
    assert stored == {i: text_hash(t, a or "") for i, t, a in papers}
    assert claims == 0


@pytest.mark.slow
def test_two_processes_share_the_catalog_and_embed_each_paper_exactly_once(catalog, tmp_path):
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [start(catalog, name, log) for name, log in zip("ab", logs)]
    for process in processes:
        go(process)
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()
    embedded = [logged(log) for log in logs]
    counts = Counter(embedded[0] + embedded[1])
    assert set(counts) == set(texts_of(catalog))  # every paper
    assert max(counts.values()) == 1  # none twice, in one process or across both
    assert all(len(share) > 0 for share in embedded), [len(share) for share in embedded]  # both did a share
    assert_every_paper_has_its_one_current_vector(catalog)


@pytest.mark.slow
def test_a_process_killed_mid_batch_loses_nothing_its_batch_is_redone_by_the_other(catalog, tmp_path):
    hung = start(catalog, "doomed", tmp_path / "doomed.log", "--lease", "2", "--hang")
    go(hung)
    claimed = json.loads(hung.stdout.readline())  # its batch is claimed; it blocks before embedding it
    assert len(claimed) == 16
    hung.send_signal(signal.SIGKILL)
    assert hung.wait(timeout=30) == -signal.SIGKILL
    count, _ = waiting(catalog, "hash-64")
    assert count == PAPERS  # nothing stored by the dead process, its batch still claimed

    survivor = start(catalog, "survivor", tmp_path / "survivor.log")
    go(survivor)
    out, err = survivor.communicate(timeout=300)
    assert survivor.returncode == 0, err.decode()
    assert out.decode().startswith(f"embedded {PAPERS:,} in ")
    embedded = Counter(logged(tmp_path / "survivor.log"))
    ids = texts_of(catalog)
    assert set(embedded) == set(ids) and max(embedded.values()) == 1
    assert logged(tmp_path / "doomed.log") == []
    assert {ids[text] for text in embedded} >= set(claimed)  # the dead one's batch, redone
    assert_every_paper_has_its_one_current_vector(catalog)


def test_an_idle_worker_joins_the_embedding_another_worker_queued(catalog, replay):
    queue_missing(catalog, "hash-64")  # as the search-index job does before it embeds
    helper = Worker(catalog, settings_for(catalog, replay), name="helper")
    results = [r for r in helper.run_once() if r.job == HELP_EMBED]
    assert len(results) == 1 and results[0].ok
    assert results[0].outcome.summary.startswith(f"embedded {PAPERS:,} in ")
    assert_every_paper_has_its_one_current_vector(catalog)
    assert [r.job for r in helper.run_once()].count(HELP_EMBED) == 0  # nothing waits any more
