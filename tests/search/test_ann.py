"""The HNSW graph on disk: incremental updates, damaged files, and several processes at once.

Real usearch graphs in real files; the processes are real subprocesses holding a real flock.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from papertide.search.semantic import ann
from papertide.search.semantic.ann import GraphFiles, generation, open_graph, rows_reader, vector_stamps
from papertide.search import SearchService
from papertide.search.semantic.vectors import VectorIndex

THRESHOLD = 50  # the graph answers from 50 vectors on
REPO = Path(__file__).resolve().parents[2]


def unit_vectors(count: int, seed: int, dim: int = 32) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)


def graph_index(ids, vectors, cache: Path, **options) -> VectorIndex:
    return VectorIndex(np.asarray(ids), vectors, ann_cache=cache, ann_threshold=THRESHOLD, **options)


def files_of(cache: Path) -> set[str]:
    return {p.name for p in cache.parent.iterdir() if p.name.startswith(cache.name)}


def test_new_papers_are_added_without_re_adding_the_old_ones(tmp_path):
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(320, seed=1)
    first = graph_index(range(1, 301), vectors[:300], cache)
    assert first.uses_ann and first.update.rebuilt and first.update.added == 300
    grown = graph_index(range(1, 321), vectors, cache)
    assert (grown.update.added, grown.update.removed, grown.update.rebuilt) == (20, 0, False)
    assert grown.update.generation == first.update.generation + 1
    assert np.array_equal(grown.ids, np.arange(1, 321)) and len(grown._ann.index) == 320
    assert grown.search(vectors[310].astype(np.float32), 1)[0][0] == 311
    # Only the new generation's files are left, and opening it again changes nothing.
    assert files_of(cache) == {"v.usearch.json", "v.usearch.lock", "v.usearch.2.graph", "v.usearch.2.ids.npy", "v.usearch.2.stamps.npy", "v.usearch.2.vectors.npy"}
    again = graph_index(range(1, 321), vectors, cache)
    assert (again.update.added, again.update.removed, again.update.generation) == (0, 0, 2)


def test_removed_papers_vanish_and_changed_vectors_are_replaced(tmp_path):
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(300, seed=2)
    graph_index(range(1, 301), vectors, cache)
    kept = np.setdiff1d(np.arange(1, 301), np.arange(1, 11))  # papers 1-10 deleted
    changed = vectors[kept - 1].copy()
    changed[kept == 100] = unit_vectors(1, seed=99)  # paper 100 re-embedded
    updated = graph_index(kept, changed, cache)
    assert (updated.update.added, updated.update.removed, updated.update.rebuilt) == (1, 11, False)
    assert len(updated._ann.index) == 290 and not set(range(1, 11)) & set(updated.ids.tolist())
    for removed in range(1, 11):
        assert removed not in {i for i, _ in updated.search(vectors[removed - 1].astype(np.float32), 20)}
    best, score = updated.search(unit_vectors(1, seed=99)[0].astype(np.float32), 1)[0]
    assert best == 100 and score > 0.999
    assert np.array_equal(updated.vector(100).astype(np.float16), unit_vectors(1, seed=99)[0])


def test_results_equal_exact_search_on_a_small_set(tmp_path):
    vectors = unit_vectors(400, seed=3)
    ids = np.arange(1, 401)
    exact = VectorIndex(ids, vectors, ann_threshold=10**9)
    graph = graph_index(ids, vectors, tmp_path / "v.usearch")
    assert graph.uses_ann and not exact.uses_ann
    overlap = []
    for query in unit_vectors(20, seed=4).astype(np.float32):
        found, truth = dict(graph.search(query, 10)), dict(exact.search(query, 400))
        assert len(found) == 10 and all(abs(found[i] - truth[i]) < 2e-3 for i in found)  # exact cosines
        overlap.append(len(set(found) & set(list(truth)[:10])) / 10)
    # HNSW is approximate even here (a multi-threaded build is not deterministic): measured
    # a sound graph finds nearly all of these ten; below 0.95 the graph or its settings are broken.
    assert np.mean(overlap) >= 0.95


def test_real_vectors_find_what_exact_search_finds(tmp_path):
    """2,000 real MiniLM vectors of the demo corpus in a graph (the threshold lowered), queried
    with 100 other real vectors: the graph's top ten are exact search's. Random vectors (above)
    have no neighbourhoods; real ones cluster, which is where a graph's settings show."""
    with np.load(REPO / "data" / "demo" / "papers.embeddings.npz") as data:
        real = data["vectors"]
    ids = np.arange(1, 2001)
    exact = VectorIndex(ids, real[:2000], ann_threshold=10**9)
    graph = graph_index(ids, real[:2000], tmp_path / "v.usearch")
    assert graph.uses_ann
    recall = []
    for query in real[5000:5100].astype(np.float32):
        truth = {i for i, _ in exact.search(query, 10)}
        recall.append(len(truth & {i for i, _ in graph.search(query, 100)[:10]}) / 10)  # as the service asks
    assert np.mean(recall) >= 0.98  # measured 0.994-0.998 at M 16-32 (0.988 even at M 4)


@pytest.mark.parametrize("setting", ["connectivity", "insertion ef", "scalar kind"])
def test_a_graph_built_with_other_settings_is_rebuilt_once(tmp_path, monkeypatch, setting):
    """A new default M, insertion ef or scalar type applies to graphs saved before it: the manifest
    records all three, a graph built otherwise is rebuilt (once) when opened, and the generations
    go on counting."""
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(300, seed=11)
    files = GraphFiles(cache)

    def settings() -> tuple:
        manifest = json.loads(files.manifest.read_text())
        return manifest["connectivity"], manifest["expansion_add"], manifest["dtype"]

    def built(index) -> tuple:
        return index._ann.index.connectivity, str(index._ann.index.dtype)

    now = (ann.CONNECTIVITY, ann.EXPANSION_ADD, ann.scalar_kind())
    with monkeypatch.context() as old_release:
        if setting == "connectivity":
            old_release.setattr(ann, "CONNECTIVITY", ann.CONNECTIVITY // 2)
        elif setting == "insertion ef":
            old_release.setattr(ann, "EXPANSION_ADD", ann.EXPANSION_ADD // 2)
        else:
            other = "f16" if ann.scalar_kind() == "bf16" else "bf16"
            old_release.setattr(ann, "scalar_kind", lambda: other)
        old = graph_index(range(1, 301), vectors, cache)
        assert built(old) == (ann.CONNECTIVITY, f"ScalarKind.{ann.scalar_kind().upper()}")
    assert settings() != now
    assert files.read() is None and files.read(any_build=True).generation == 1
    assert generation(cache) is None  # a running service does not take it for a current graph
    opened = graph_index(range(1, 301), vectors, cache)
    assert opened.update.rebuilt and opened.update.added == 300 and opened.update.generation == 2
    assert built(opened) == (now[0], f"ScalarKind.{now[2].upper()}")
    assert settings() == now
    assert files_of(cache) == {"v.usearch.json", "v.usearch.lock", "v.usearch.2.graph", "v.usearch.2.ids.npy", "v.usearch.2.stamps.npy", "v.usearch.2.vectors.npy"}
    again = graph_index(range(1, 301), vectors, cache)
    assert (again.update.rebuilt, again.update.added, again.update.generation) == (False, 0, 2)
    assert again.search(vectors[41].astype(np.float32), 1)[0][0] == 42


def test_an_update_inserts_with_the_insertion_ef_of_a_new_build(tmp_path, monkeypatch):
    """usearch does not store the insertion ef in its file: a graph loaded for an update would
    insert with usearch's default (128), not papertide's."""
    monkeypatch.setattr(ann, "EXPANSION_ADD", 200)  # not usearch's default, whatever papertide's is
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(300, seed=12)
    graph_index(range(1, 201), vectors[:200], cache)
    index = GraphFiles(cache).load_writable()
    assert index.expansion_add == ann.EXPANSION_ADD


@pytest.mark.parametrize("damage", ["truncated graph", "garbage graph", "missing ids", "missing stamps", "broken manifest", "format 2", "old format"])
def test_a_damaged_graph_is_rebuilt_not_crashed_on(tmp_path, damage):
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(200, seed=5)
    graph_index(range(1, 201), vectors, cache)
    files = GraphFiles(cache)
    graph_file = files.path(1, "graph")
    if damage == "truncated graph":
        graph_file.write_bytes(graph_file.read_bytes()[: graph_file.stat().st_size // 2])
    elif damage == "garbage graph":
        graph_file.write_bytes(np.random.default_rng(0).bytes(graph_file.stat().st_size))
    elif damage == "missing ids":
        files.path(1, "ids.npy").unlink()
    elif damage == "missing stamps":
        files.path(1, "stamps.npy").unlink()
    elif damage == "broken manifest":
        files.manifest.write_text('{"format": 3, "generation": ')
    elif damage == "format 2":  # generations without stamps, before they were kept
        files.manifest.write_text(json.dumps({**json.loads(files.manifest.read_text()), "format": 2}))
    else:  # a graph saved by the single-file cache that came before generations
        files.manifest.write_text(json.dumps({"ids": "0123456789abcdef", "count": 200}))
    assert files.read() is None
    rebuilt = graph_index(range(1, 201), vectors, cache)
    assert rebuilt.update.rebuilt and rebuilt.update.added == 200
    assert rebuilt.search(vectors[7].astype(np.float32), 1)[0][0] == 8
    assert files.read() is not None


def test_an_update_killed_half_way_leaves_the_old_generation_in_force(tmp_path):
    """What ``kill -9`` during ``commit`` leaves: some files of generation 2, temporary files,
    no new manifest. Readers keep generation 1; the next update finishes and clears the debris."""
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(260, seed=6)
    graph_index(range(1, 251), vectors[:250], cache)
    files = GraphFiles(cache)
    files.path(2, "graph").write_bytes(b"half a graph")
    files.path(2, "ids.npy").with_name("v.usearch.2.vectors.npy.tmp-12345").write_bytes(b"\x00" * 100)
    assert files.read().generation == 1 and len(files.read()) == 250
    updated = graph_index(range(1, 261), vectors, cache)
    assert (updated.update.added, updated.update.generation) == (10, 2)
    assert not any("tmp" in name for name in files_of(cache)) and len(files.read()) == 260


def test_while_another_process_updates_the_old_generation_is_served(tmp_path):
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(220, seed=7)
    graph_index(range(1, 201), vectors[:200], cache)
    with GraphFiles(cache).locked(block=True):  # a separate open file: conflicts like another process
        served = graph_index(range(1, 221), vectors, cache, wait=False)
    assert served.update.stale and served.update.generation == 1
    assert len(served) == 200 and served.ids[-1] == 200  # ids and rows are the served graph's
    fresh = graph_index(range(1, 221), vectors, cache, wait=False)
    assert not fresh.update.stale and fresh.update.added == 20 and generation(cache) == 2


def test_without_a_file_the_graph_is_built_in_memory(tmp_path):
    vectors = unit_vectors(100, seed=8)
    ids = np.arange(1, 101)
    graph, update = open_graph(None, ids, vector_stamps(vectors), rows_reader(ids, vectors))
    assert update.rebuilt and len(graph) == 100 and not list(tmp_path.iterdir())
    (tmp_path / "not-a-directory").write_text("")  # where the graph cannot be kept: in memory, no error
    graph, update = open_graph(tmp_path / "not-a-directory" / "v.usearch", ids, vector_stamps(vectors), rows_reader(ids, vectors))
    assert update.rebuilt and len(graph) == 100 and graph.search(vectors[3].astype(np.float32), 1)[0][0] == 4


# -- several processes ---------------------------------------------------------------------------

CHILD = """
import json, logging, sys
from pathlib import Path
import numpy as np
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s", force=True)
from papertide.search.semantic.vectors import VectorIndex
data = np.load(sys.argv[1])
index = VectorIndex(data["ids"], data["vectors"], ann_cache=Path(sys.argv[2]), ann_threshold=50)
print("RESULT " + json.dumps(index.update.__dict__), flush=True)
"""


def start_child(tmp_path: Path, ids, vectors, cache: Path) -> subprocess.Popen:
    data = tmp_path / f"data-{len(ids)}.npz"
    np.savez(data, ids=np.asarray(ids), vectors=vectors)
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.Popen([sys.executable, "-c", CHILD, str(data), str(cache)], stdout=subprocess.PIPE, text=True, env=env)


def read_lines(process: subprocess.Popen, until: str | None = None, timeout: float = 120) -> list[str]:
    """Lines of the child's output up to one containing ``until`` (or to its end), within ``timeout``."""
    lines: list[str] = []

    def read():
        for line in process.stdout:
            lines.append(line.strip())
            if until and until in line:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    assert not reader.is_alive(), f"child said only {lines}"
    return lines


def result_of(process: subprocess.Popen) -> dict:
    lines = read_lines(process)
    assert process.wait(timeout=60) == 0, lines
    return json.loads(next(line for line in lines if line.startswith("RESULT ")).removeprefix("RESULT "))


def test_two_processes_building_at_once_build_one_graph(tmp_path):
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(300, seed=9)
    with GraphFiles(cache).locked(block=True):  # hold both at the door, then let them race
        children = [start_child(tmp_path, np.arange(1, 301), vectors, cache) for _ in range(2)]
        for child in children:
            read_lines(child, until="waiting for the vector graph lock")
    results = [result_of(child) for child in children]
    assert sorted(r["rebuilt"] for r in results) == [False, True]  # one built, the other opened it
    assert sorted(r["added"] for r in results) == [0, 300]
    assert {r["generation"] for r in results} == {1} and generation(cache) == 1
    graph = GraphFiles(cache).read()
    assert np.array_equal(graph.ids, np.arange(1, 301)) and len(graph.index) == 300


def test_two_processes_updating_at_once_add_each_new_paper_once(tmp_path):
    cache = tmp_path / "v.usearch"
    vectors = unit_vectors(330, seed=10)
    graph_index(range(1, 301), vectors[:300], cache)
    children = [start_child(tmp_path, np.arange(1, 331), vectors, cache) for _ in range(2)]
    results = [result_of(child) for child in children]
    assert sorted(r["added"] for r in results) == [0, 30] and not any(r["rebuilt"] for r in results)
    assert {r["generation"] for r in results} == {2}
    graph = GraphFiles(cache).read()
    assert np.array_equal(graph.ids, np.arange(1, 331)) and len(graph.index) == 330
    assert graph.search(vectors[320].astype(np.float32), 1)[0][0] == 321


# -- the service and `papertide index` ---------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_running_service_opens_the_generation_papertide_index_wrote(database):
    """The indexer updates the graph (here: one paper re-embedded, so the count of vectors and
    the largest id stay as they were); a running service notices the new generation and opens
    it, without updating anything itself."""
    from sqlalchemy import text

    from papertide.search import SearchOptions, SemanticOptions
    from papertide.search.files import SearchFiles
    from papertide.search.maintenance import update_vector_graph
    from papertide.search.semantic.indexer import index_papers

    from .helpers import service_with

    embedder = service_with(database).semantic.embedder
    built = update_vector_graph(database, embedder, progress=False, ann_threshold=3)
    assert built.rebuilt and built.added == 6 and built.generation == 1
    service = SearchService(database, embedder, SearchOptions(semantic=SemanticOptions(ann_threshold=3, refresh_seconds=0.0)))

    def served():
        with database.session() as session:
            return service.semantic.index(session)

    assert service.search("sparse attention long documents")[0].arxiv_id == "2401.00001"
    assert served().uses_ann and served().update.generation == 1 and served().update.added == 0
    with database.session() as session:
        session.execute(text("UPDATE papers SET abstract = 'Penguins huddle on antarctic sea ice' WHERE arxiv_id = '2404.00004'"))
    assert index_papers(database, embedder, progress=False).embedded == 1
    updated = update_vector_graph(database, embedder, progress=False, ann_threshold=3)
    assert (updated.added, updated.removed, updated.generation) == (1, 1, 2)
    assert generation(SearchFiles(database.url).vector_graph(embedder.model_id)) == 2
    service.search("anything")  # the check: a new generation on disk
    assert served().update.generation == 2 and served().update.added == 0
    semantic = served().search(embedder.embed_query("penguins huddle antarctic ice"), 1)
    assert semantic[0][0] == service.search("2404.00004")[0].paper_id


@pytest.mark.parametrize("engine", ["onnxruntime", "torch"])
def test_papertide_index_threads_setting_and_option(engine, database, monkeypatch):
    """``--threads`` and ``PAPERTIDE_INDEX_THREADS`` set the threads document embedding runs on:
    those of the document model's onnxruntime session (read back from the session the command
    made), or PyTorch's (the ``bulk`` extra)."""
    import torch
    from click.testing import CliRunner

    from papertide.cli import main
    from papertide.config import get_settings
    from papertide.db import get_database
    from papertide.search.semantic import minilm

    from .helpers import add_papers

    sessions = []
    load = minilm._load
    monkeypatch.setattr(minilm, "_load", lambda path, threads: sessions.append((path.name, load(path, threads))) or sessions[-1][1])
    add_papers(database)
    monkeypatch.setenv("PAPERTIDE_DATABASE_URL", database.url)
    monkeypatch.setenv("PAPERTIDE_EMBEDDER", "default")
    monkeypatch.setenv("PAPERTIDE_DOCUMENT_ENGINE", engine)
    monkeypatch.setenv("PAPERTIDE_INDEX_THREADS", "1")
    before = torch.get_num_threads()
    try:
        for arguments, threads in ((["index", "--quiet", "--limit", "2"], 1), (["index", "--quiet", "--threads", "2"], 2)):
            get_settings.cache_clear()
            get_database.cache_clear()
            sessions.clear()
            result = CliRunner().invoke(main, arguments, catch_exceptions=False)
            assert result.exit_code == 0, result.output
            documents = [session for name, session in sessions if name == minilm.DOCUMENT_MODEL]
            if engine == "onnxruntime":
                assert [s.get_session_options().intra_op_num_threads for s in documents] == [threads]
            else:
                assert documents == [] and torch.get_num_threads() == threads
            get_database().dispose()
    finally:
        torch.set_num_threads(before)
        get_database.cache_clear()
        get_settings.cache_clear()
    assert "embedded 4" in result.output  # the second run embedded the four the first left


# -- from the database: ids and text hashes say what the graph lacks -----------------------------


def load_recording(database, cache: Path, hook=None) -> tuple[VectorIndex, list[str]]:
    """``VectorIndex.load`` at a threshold of 4 papers, with every SQL statement it ran (``hook``
    is called with each before it runs)."""
    from sqlalchemy import event

    from papertide.search.semantic.embedder import HashEmbedder

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
        if hook:
            hook(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        with database.session() as session:
            index = VectorIndex.load(session, HashEmbedder().model_id, HashEmbedder().dim, cache, ann_threshold=4)
    finally:
        event.remove(database.engine, "before_cursor_execute", record)
    return index, statements


def reads_of_vectors(statements: list[str]) -> list[str]:
    return [s for s in statements if "SELECT paper_id, vector" in s]


def test_an_up_to_date_graph_is_opened_without_reading_a_vector(database, tmp_path):
    from .helpers import add_papers
    from papertide.search.semantic.embedder import HashEmbedder
    from papertide.search.semantic.indexer import index_papers

    add_papers(database)
    index_papers(database, HashEmbedder(), progress=False)
    built, statements = load_recording(database, tmp_path / "v.usearch")
    assert built.uses_ann and built.update.rebuilt and len(reads_of_vectors(statements)) == 1
    opened, statements = load_recording(database, tmp_path / "v.usearch")
    assert (opened.update.added, opened.update.removed, opened.update.generation) == (0, 0, built.update.generation)
    assert reads_of_vectors(statements) == [] and len(opened) == len(built)


def test_a_re_embedded_paper_is_replaced_and_only_its_vector_is_read(database, tmp_path):
    from sqlalchemy import text as sql

    from .helpers import add_papers, record
    from papertide.catalog.upsert import upsert_papers
    from papertide.search.semantic.embedder import HashEmbedder
    from papertide.search.semantic.indexer import index_papers

    add_papers(database)
    embedder = HashEmbedder()
    index_papers(database, embedder, progress=False)
    load_recording(database, tmp_path / "v.usearch")
    with database.session() as session:
        upsert_papers(session, [record("2404.00004", "Speech recognition in noisy rooms", "Microphone arrays in cafés.", ["C. Shannon"], "2024-04-20", version=3)])
    index_papers(database, embedder, progress=False)
    updated, statements = load_recording(database, tmp_path / "v.usearch")
    assert (updated.update.added, updated.update.removed, updated.update.rebuilt) == (1, 1, False)
    [read] = reads_of_vectors(statements)
    assert " IN " in read  # the one changed vector, not a scan of all of them
    with database.session() as session:
        paper_id, blob = session.execute(sql(
            "SELECT e.paper_id, e.vector FROM paper_embeddings e JOIN papers p ON p.id = e.paper_id WHERE p.arxiv_id = '2404.00004'"
        )).one()
    stored = np.frombuffer(blob, dtype="<f2")
    assert np.array_equal(updated.vector(paper_id).astype(np.float16), stored)
    assert updated.search(stored.astype(np.float32), 1)[0][0] == paper_id


def test_a_paper_deleted_between_reading_ids_and_vectors_is_read_again_not_served(database, tmp_path):
    """The ids (with hashes) and the vectors are two reads: a deletion in between must not leave
    the graph holding a paper without a vector. The deletion is made by another connection just
    before the vector read."""
    from sqlalchemy import text as sql

    from .helpers import PAPERS, add_papers
    from papertide.search.semantic.embedder import HashEmbedder
    from papertide.search.semantic.indexer import index_papers

    add_papers(database, PAPERS[:5])
    index_papers(database, HashEmbedder(), progress=False)
    load_recording(database, tmp_path / "v.usearch")
    add_papers(database, PAPERS[5:])
    index_papers(database, HashEmbedder(), progress=False)
    with database.session() as session:
        newest = session.execute(sql("SELECT max(paper_id) FROM paper_embeddings")).scalar_one()
    deleted = []

    def delete_first(statement):
        if "SELECT paper_id, vector" in statement and not deleted:
            deleted.append(newest)
            with database.engine.begin() as other:  # a second connection of the pool, committed
                other.execute(sql("DELETE FROM paper_embeddings WHERE paper_id = :id"), {"id": newest})

    index, statements = load_recording(database, tmp_path / "v.usearch", hook=delete_first)
    assert deleted == [newest]
    # The spoiled vector read, then ids and hashes read again: the graph already holds the rest.
    assert len(reads_of_vectors(statements)) == 1 and sum("SELECT paper_id, text_hash" in s for s in statements) == 2
    assert newest not in index.ids.tolist() and len(index) == 5 and not index.update.stale
    assert GraphFiles(tmp_path / "v.usearch").read().ids.tolist() == index.ids.tolist()
