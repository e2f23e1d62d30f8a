"""The impact index (keyword/impact_build.py, keyword/impact.py): keyword candidates from a derived file.

The size thresholds are lowered so that a few hundred papers take the path a million would,
and the per-term depth and the query's postings budget are made tiny, so that lists are
truncated and the budget cuts: what is approximate is then really exercised. FTS5's own
``bm25()`` over the same SQLite file is the reference for every score.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from papertide.search import KeywordOptions, SearchQuery, SearchService, build_keyword_index
from papertide.search.files import SearchFiles
from papertide.search.keyword import fts5, impact_build
from papertide.search.keyword import impact as impact_module
from papertide.search.keyword.impact_build import ImpactBuildBusy, build_impact_index
from papertide.search.keyword.impact_file import ImpactFileError, open_arrays
from papertide.search.keyword.terms import COLUMN_WEIGHTS

from .helpers import HOSTILE_QUERIES, add_papers, invoke_cli
from .test_keyword_budget import QUERIES, KeywordSide, bounded, corpus, exact_scores

BIG = KeywordOptions(build_impact_index=False, exact_below_papers=0)  # every catalog takes the big catalog's path

pytestmark = pytest.mark.sqlite_only


def db_file(database) -> Path:
    return Path(make_url(database.url).database)


def impact_path(url: str):
    return SearchFiles(url).impact_index


def build(database, depth=40):
    return build_impact_index(db_file(database), impact_path(database.url), COLUMN_WEIGHTS, depth=depth, progress=False)


@pytest.fixture
def impact(monkeypatch):
    """Every catalog is "big", and the FTS5 ranking paths are refused (so the file answered)."""
    monkeypatch.setattr(fts5, "FREQUENT_FLOOR", 2)
    monkeypatch.setattr(fts5, "PAIR_SAMPLE", 10**9)  # pair frequencies counted, not sampled
    monkeypatch.setattr(impact_module, "BUDGET", 300)
    return KeywordSide(BIG, refused=frozenset({"keyword.fts5", "keyword.newest"}))


@pytest.fixture
def fallback_allowed(monkeypatch):
    """Every catalog is "big"; FTS5 may answer when the file cannot."""
    monkeypatch.setattr(fts5, "FREQUENT_FLOOR", 2)
    monkeypatch.setattr(fts5, "PAIR_SAMPLE", 10**9)
    return KeywordSide(BIG)


@pytest.mark.parametrize("query", QUERIES)
def test_every_score_is_the_full_bm25_score(database, impact, query):
    add_papers(database, corpus())
    build(database)
    found = impact.search(database, query, limit=50)
    exact = exact_scores(database, query)
    assert found
    for pid, score in found:
        assert score == pytest.approx(exact[pid], rel=1e-9, abs=1e-9)


def test_with_nothing_cut_the_ranking_is_exact(database, impact, monkeypatch):
    """Exact when every posting is read, for queries whose words (not only their pairs) rank:
    candidates come from single words, so in this toy corpus, where every common word is in
    most papers (idf ~ 0) and only pairs score, the third query would pick them at random."""
    add_papers(database, corpus())
    build(database, depth=10**6)
    monkeypatch.setattr(impact_module, "BUDGET", 10**9)
    for query in QUERIES[:2]:
        scores = exact_scores(database, query)
        exact = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:30]
        found = impact.search(database, query, limit=30)
        # The same scores in the same order (papers with equal scores may come in either order).
        assert [s for _, s in found] == pytest.approx([s for _, s in exact], rel=1e-9), query
        assert all(scores[pid] == pytest.approx(s, rel=1e-9) for pid, s in found)


def test_the_rare_target_ranks_first_despite_truncated_lists(database, impact):
    add_papers(database, corpus())
    build(database, depth=5)
    exact = exact_scores(database, QUERIES[0])
    assert impact.search(database, QUERIES[0])[0][0] == max(exact, key=exact.get)


def test_the_file_holds_what_fts5_holds(database):
    add_papers(database, corpus(size=40))
    build(database, depth=10**6)
    meta, arrays = open_arrays(impact_path(database.url))
    with database.session() as session:
        documents, tokens = fts5.read_corpus(session)
        session.execute(text("CREATE VIRTUAL TABLE IF NOT EXISTS temp.v_rows USING fts5vocab(main, papers_fts, 'row')"))
        vocabulary = dict(session.execute(text("SELECT term, doc FROM temp.v_rows")).all())
    assert meta["documents"] == documents and meta["tokens"] == tokens and meta["terms"] == len(vocabulary)
    assert int(arrays["posting_starts"][-1]) == sum(vocabulary.values())  # depth 1e6: nothing truncated
    separators = int((arrays["forward"] == impact_build.SEPARATOR).sum())
    assert len(arrays["forward"]) == tokens + separators and separators == documents * 2


@pytest.mark.parametrize("paper, query", [
    # added after the build: past the file's last id, matched by FTS5 on rowid alone
    (("2503.00009", "Quokka lantern models", "The quokka carries a lantern through language models.", ["Eve"], "2025-03-09", None),
     "quokka lantern language models"),
    # a new version of a paper the file holds: its lengths changed, so it is scored from its text
    (("2502.00002", "Pelican fjord", "A pelican, a fjord, a lantern and a narwhal narwhal narwhal.", ["Bob"], "2025-02-02", None),
     "narwhal pelican fjord lantern"),
])
def test_papers_added_or_changed_after_the_build_are_found_with_exact_scores(database, impact, paper, query):
    add_papers(database, corpus())
    build(database)
    add_papers(database, [paper])
    found = dict(impact.search(database, query, limit=20))
    exact = exact_scores(database, query)
    with database.session() as session:
        target = session.execute(text("SELECT id FROM papers WHERE arxiv_id = :a"), {"a": paper[0]}).scalar_one()
    assert max(found, key=found.get) == target
    assert found[target] == pytest.approx(exact[target], rel=1e-9)


def test_hidden_and_filtered_papers_stay_out(database, impact):
    add_papers(database, corpus())
    build(database)
    with database.session() as session:
        target = session.execute(text("SELECT id FROM papers WHERE arxiv_id = '2502.00001'")).scalar_one()
        session.execute(text("UPDATE papers SET hidden = :h WHERE id = :i"), {"h": True, "i": target})
    assert target not in [pid for pid, _ in impact.search(database, QUERIES[0], limit=100)]
    found = impact.search(database, QUERIES[1], limit=1, published_from=date(2025, 2, 1))  # the one visible paper of February
    with database.session() as session:
        dates = dict(session.execute(text("SELECT id, published_at FROM papers")).all())
    assert len(found) == 1 and all(str(dates[pid]) >= "2025-02-01" for pid, _ in found)


def test_a_filter_too_narrow_for_the_candidates_goes_to_fts5(database, fallback_allowed, monkeypatch):
    add_papers(database, corpus())
    build(database, depth=5)
    monkeypatch.setattr(impact_module, "BUDGET", 10)
    monkeypatch.setattr(impact_module, "FILTER_CANDIDATES", 10)
    found = fallback_allowed.search(database, "learning models from training data", limit=5, published_from=date(2025, 1, 27), published_before=date(2025, 1, 28))
    with database.session() as session:
        dates = dict(session.execute(text("SELECT id, published_at FROM papers")).all())
    assert len(found) == 5 and all(str(dates[pid]).startswith("2025-01-27") for pid, _ in found)


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_input_is_still_plain_words(database, impact, query):
    add_papers(database, corpus(size=60))
    build(database)
    impact.search(database, query + " model learning")  # must not raise


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "header"])
def test_a_damaged_file_falls_back_to_fts5(database, fallback_allowed, damage):
    add_papers(database, corpus())
    build(database)
    path = impact_path(database.url)
    expected = fallback_allowed.search(database, QUERIES[0], limit=10)
    data = path.read_bytes()
    path.write_bytes({"garbage": b"not an index at all" * 100, "truncated": data[: len(data) // 2], "empty": b"",
                      "header": data[:20] + bytes([data[20] ^ 0xFF]) + data[21:]}[damage])
    with pytest.raises(ImpactFileError):
        open_arrays(path)
    exact = exact_scores(database, QUERIES[0])
    found = fallback_allowed.search(database, QUERIES[0], limit=10)
    assert found and found[0][0] == expected[0][0]
    assert all(score == pytest.approx(exact[pid], rel=1e-9) for pid, score in found)


def test_a_failure_while_searching_falls_back_to_fts5(database, fallback_allowed, monkeypatch):
    add_papers(database, corpus())
    build(database)

    def broken(*args, **kwargs):
        raise IndexError("index 7 is out of bounds")  # what a mapping that no longer fits would raise

    monkeypatch.setattr(impact_module.ImpactIndex, "search", broken)
    exact = exact_scores(database, QUERIES[1])
    found = fallback_allowed.search(database, QUERIES[1], limit=10)
    assert found and all(score == pytest.approx(exact[pid], rel=1e-9) for pid, score in found)


def test_a_file_for_other_weights_is_not_used(database, fallback_allowed, monkeypatch):
    add_papers(database, corpus())
    build_impact_index(db_file(database), impact_path(database.url), (2.0, 1.0, 1.0), progress=False)
    used = []
    monkeypatch.setattr(impact_module.ImpactIndex, "search", lambda *a, **k: used.append(1))
    assert fallback_allowed.search(database, QUERIES[1], limit=10)
    assert not used


def test_a_killed_build_leaves_the_previous_file_in_use(database, impact, tmp_path):
    add_papers(database, corpus())
    build(database)
    path = impact_path(database.url)
    before = path.read_bytes()
    add_papers(database, [("2503.00010", "Zyxoid quasar lantern", "zyxoid quasar lantern", ["Eve"], "2025-03-10", None)])
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from papertide.search.keyword import impact_build
        from papertide.search.keyword import impact_file
        def die(fd):  # the whole new file is written, not yet renamed in: the worst moment
            os.kill(os.getpid(), signal.SIGKILL)
        impact_file.os.fsync = die
        impact_build.build_impact_index(Path({str(db_file(database))!r}), Path({str(path)!r}), (1.0, 1.0, 1.0), depth=40, progress=False)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(impact_build.__file__).parents[3])}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=120)
    assert result.returncode == -9, result.stderr.decode()
    assert list(path.parent.glob(f".{path.name}.*.tmp")), "the killed build left no partial file"
    assert path.read_bytes() == before
    found = dict(impact.search(database, QUERIES[0], limit=10))  # the old file answers, the new paper is fresh
    exact = exact_scores(database, QUERIES[0])
    assert len(corpus()) + 1 in found
    assert all(score == pytest.approx(exact[pid], rel=1e-9) for pid, score in found.items())
    build(database)  # the next build clears the leftover and covers the new paper
    assert not list(path.parent.glob(f".{path.name}.*.tmp"))
    assert open_arrays(path)[0]["documents"] == len(corpus()) + 1


def test_one_builder_at_a_time(database):
    add_papers(database, corpus(size=20))
    path = impact_path(database.url)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(ImpactBuildBusy):
            build_impact_index(db_file(database), path, COLUMN_WEIGHTS, progress=False, wait=False)
    assert not path.exists()
    build_impact_index(db_file(database), path, COLUMN_WEIGHTS, progress=False, wait=False)
    assert path.exists()


def test_a_missing_or_stale_file_is_built_in_the_background(database, fallback_allowed, monkeypatch):
    add_papers(database, corpus())
    path = impact_path(database.url)
    monkeypatch.setattr(impact_module, "BUILD_FROM_PAPERS", 100)
    building = KeywordSide(KeywordOptions(exact_below_papers=0))  # (a new side at each search: none waits to ask again)
    building.search(database, QUERIES[0])  # no file yet: FTS5 answers, a build starts
    impact_build.wait_for_background_builds()
    covered = open_arrays(path)[0]["max_paper_id"]
    add_papers(database, [(f"2504.{i:05d}", f"Fresh quasar {i}", "fresh quasar lantern", ["Eve"], "2025-04-01", None) for i in range(1, 4)])
    building.search(database, QUERIES[0])  # 3 of ~245 papers new: not stale enough
    impact_build.wait_for_background_builds()
    assert open_arrays(path)[0]["max_paper_id"] == covered
    monkeypatch.setattr(impact_module, "REBUILD_FRACTION", 0.01)
    building.search(database, QUERIES[0])
    impact_build.wait_for_background_builds()
    assert open_arrays(path)[0]["max_paper_id"] == covered + 3


def test_small_catalogs_get_no_file(database):
    add_papers(database, corpus(size=50))
    bounded(database, QUERIES[0])
    impact_build.wait_for_background_builds()
    assert not impact_path(database.url).exists()
    assert build_keyword_index(database) is None


def test_papertide_index_builds_it(database, monkeypatch):
    add_papers(database, corpus(size=50))
    monkeypatch.setattr(impact_module, "BUILD_FROM_PAPERS", 10)
    result = invoke_cli(database, monkeypatch, ["index", "--keyword-only", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "keyword impact index: 52 papers" in result.output
    assert open_arrays(impact_path(database.url))[0]["documents"] == 52


def test_the_search_service_answers_over_a_damaged_file(database, fallback_allowed):
    """What the web pages and the API call: a damaged file costs speed, never an error."""
    from papertide.search.semantic.embedder import HashEmbedder
    from papertide.search.semantic.indexer import index_papers

    add_papers(database, corpus())
    index_papers(database, HashEmbedder(), progress=False)
    build(database)
    impact_path(database.url).write_bytes(b"\x00" * 4096)
    hits = SearchService(database, HashEmbedder()).search(SearchQuery("zyxoid quasar language models", 5))
    assert hits and hits[0].arxiv_id == "2502.00001"
