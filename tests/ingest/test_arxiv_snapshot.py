"""arXiv's bulk metadata snapshot through the real command line: what a record becomes, exact
category filtering, bad lines, compressed copies, and a load killed part-way then resumed.

``fixtures/arxiv_snapshot/snapshot.json`` is written in the snapshot's exact shape (compact JSON,
its field order, TeX author strings, ``authors_parsed``, RFC 2822 version dates) with real papers'
metadata, old-style ids (``hep-th/9901001``, ``math/0211159``) and several versions.
"""

from __future__ import annotations

import gzip
import zipfile
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from papertide.catalog.models import HarvestCheckpoint, Paper
from papertide.db import Database
from tests.conftest import DEMO_CORPUS, FIXTURES
from tests.ingest.conftest import kill_when, run_cli, start_cli
from tests.ingest.dump import canonical_dump
from tests.ingest.snapshot_data import demo_records, write_snapshot

SNAPSHOT = FIXTURES / "arxiv_snapshot" / "snapshot.json"
ALL_IDS = {
    "0704.0001", "0704.0002", "hep-th/9711200", "hep-th/9901001", "math/0211159", "math-ph/0001001", "cond-mat/0102536",
    "1706.03762", "1810.04805", "1412.6980", "1512.03385", "1502.03167", "1312.6114", "2005.14165", "2106.09685",
    "2303.08774", "2310.06825", "2401.04088", "1409.0473", "2010.11929", "astro-ph/9805201", "2207.00001",
}


def stored_ids(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(Paper.arxiv_id)))


def load(database: Database, path, *options: str):
    return run_cli("ingest", "--quiet", *options, str(path), database_url=database.url)


def test_a_snapshot_record_becomes_the_paper_its_newest_version_describes(database):
    result = load(database, SNAPSHOT)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b"added 22 / updated 0 / unchanged 0 / rejected 0"
    assert stored_ids(database) == ALL_IDS
    with database.session() as session:
        papers = {p.arxiv_id: p for p in session.scalars(select(Paper))}
        checkpoints = session.scalar(select(text("count(*)")).select_from(HarvestCheckpoint))
    attention = papers["1706.03762"]
    assert attention.version == 7
    assert attention.published_at == datetime(2017, 6, 12, 17, 57, 34, tzinfo=timezone.utc)  # v1
    assert attention.updated_at == datetime(2023, 8, 2, 0, 41, 18, tzinfo=timezone.utc)  # v7
    assert attention.categories == ["cs.CL", "cs.LG"] and attention.primary_category == "cs.CL"
    assert attention.authors[-1] == "Illia Polosukhin" and len(attention.authors) == 8
    assert attention.comment == "15 pages, 5 figures"
    assert papers["1312.6114"].version == 11  # v10 and v11 come after v9, not after v1
    first = papers["0704.0001"]
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is presented")
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]  # authors_parsed, accents decoded
    assert (first.doi, first.journal_ref) == ("10.1103/PhysRevD.76.013009", "Phys.Rev.D76:013009,2007")
    old = papers["hep-th/9901001"]
    assert (old.version, old.primary_category, old.authors) == (1, "hep-th", ["Ashoke Sen"])
    assert old.published_at == datetime(1999, 1, 1, 10, 12, 33, tzinfo=timezone.utc)
    assert papers["2310.06825"].authors[-1] == "Lélio Renard Lavaud"  # a raw UTF-8 line
    assert checkpoints == 0  # read to the end: nothing left to resume

    again = load(database, SNAPSHOT)
    assert again.returncode == 0
    assert again.stdout.strip() == b"added 0 / updated 0 / unchanged 22 / rejected 0"


@pytest.mark.parametrize("categories, expected", [
    ("cs.CL", {"1706.03762", "1810.04805", "2005.14165", "2106.09685", "2303.08774", "2310.06825", "2401.04088", "1409.0473"}),
    # cs.LG as a cross-list counts (stat.ML cs.LG); cs.CV alone does not.
    ("cs.LG", {"1706.03762", "1412.6980", "1502.03167", "1312.6114", "2106.09685", "2310.06825", "2401.04088", "1409.0473",
               "2010.11929"}),
    ("math", {"0704.0002", "math/0211159", "math-ph/0001001"}),  # math.CO, math.DG, and math-ph's math.MP cross-list
    ("math-ph", {"math-ph/0001001"}),
    ("hep-th,astro-ph", {"hep-th/9711200", "hep-th/9901001", "astro-ph/9805201"}),
    ("physics.*", {"cond-mat/0102536", "2207.00001"}),  # physics.soc-ph cross-list; a title quoting "categories":"cs.CL"
    ("cs.CG,cond-mat.stat-mech", {"0704.0002", "cond-mat/0102536"}),
    ("hep", set()),  # an archive is a whole name, never a prefix of hep-th or hep-ph
])
def test_category_filtering_is_exact(database, categories, expected):
    result = load(database, SNAPSHOT, "--categories", categories)
    assert result.returncode == 0, result.stderr.decode()
    assert stored_ids(database) == expected


def test_a_category_that_is_not_one_is_refused_before_anything_is_read(database):
    result = load(database, SNAPSHOT, "--categories", "cs.CL,cs CL")
    assert result.returncode == 2
    assert b"not an arXiv category or archive: 'cs CL'" in result.stderr
    assert stored_ids(database) == set()


def test_categories_apply_to_the_snapshot_only(database, tmp_path):
    result = load(database, DEMO_CORPUS, "--categories", "cs.CL")
    assert result.returncode == 1
    assert b"--categories applies to arXiv's metadata snapshot only" in result.stderr


def test_malformed_lines_are_rejected_by_line_and_nothing_else_is_lost(database, tmp_path):
    lines = SNAPSHOT.read_bytes().splitlines(keepends=True)
    bad = [
        (3, b'{"id":"0704.0003","submitter":"X","authors":"A. B","title":"Cut short","categories":"cs.CL","abst\n'),
        (7, b'{"id":"not-an-id","submitter":"X","authors":"A. B","title":"T","categories":"cs.CL","abstract":"a",'
            b'"versions":[{"version":"v1","created":"Mon, 2 Apr 2007 19:18:42 GMT"}],"authors_parsed":[["B","A",""]]}\n'),
        (12, b'{"id":"0704.0004","submitter":"X","authors":"A. B","title":"T","categories":"cs.CL","abstract":"a",'
             b'"versions":[{"version":"one","created":"yesterday"}],"authors_parsed":[["B","A",""]]}\n'),
        (15, b'{"id":"0704.0005","submitter":"X","authors":"A. B","title":"T","categories":"cs.CL","abstract":"a",'
             b'"versions":[{"version":"v1","created":"Mon, 32 Apr 2007 19:18:42 GMT"}],"authors_parsed":[["B","A",""]]}\n'),
        (18, b'["0704.0006"]\n'),
    ]
    for position, line in bad:
        lines.insert(position - 1, line)
    path = tmp_path / "arxiv-metadata-oai-snapshot.json"
    path.write_bytes(b"".join(lines))

    result = load(database, path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.strip() == b"added 22 / updated 0 / unchanged 0 / rejected 5"
    errors = result.stderr.decode().splitlines()
    assert len(errors) == 5 and all(line.startswith(f"{path}: line ") for line in errors)
    assert f"{path}: line 3: " in errors[0] and "JSON" in errors[0]
    assert "line 7 (not-an-id): " in errors[1] and "not an arXiv id" in errors[1]
    assert "line 12 (0704.0004): " in errors[2] and "unreadable version entry" in errors[2]
    assert "line 15 (0704.0005): " in errors[3] and "v1" in errors[3]
    assert "line 18: " in errors[4] and "JSON object" in errors[4]
    assert stored_ids(database) == ALL_IDS


def test_gzip_and_zip_copies_load_the_same_catalog(database, make_database, tmp_path):
    plain = load(database, SNAPSHOT, "--categories", "cs.CL,cs.LG")
    assert plain.returncode == 0
    compressed = tmp_path / "arxiv-metadata-oai-snapshot.json.gz"
    compressed.write_bytes(gzip.compress(SNAPSHOT.read_bytes()))
    archive = tmp_path / "arxiv.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.write(SNAPSHOT, "arxiv-metadata-oai-snapshot.json")
    for path in (compressed, archive):
        other = make_database()
        result = load(other, path, "--categories", "cs.CL,cs.LG")
        assert result.returncode == 0, result.stderr.decode()
        assert canonical_dump(other) == canonical_dump(database)


def test_a_truncated_archive_keeps_what_was_read_and_says_so(database, tmp_path):
    records = demo_records(DEMO_CORPUS)[:3000]
    whole = gzip.compress(write_snapshot(tmp_path / "snapshot.json", records).read_bytes())
    path = tmp_path / "arxiv-metadata-oai-snapshot.json.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    result = load(database, path)
    assert result.returncode == 1
    assert b"the compressed data is damaged or truncated" in result.stderr and b"Traceback" not in result.stderr
    kept = stored_ids(database)
    assert 1000 < len(kept) < 3000 and kept <= {r["arxiv_id"] for r in records}


def checkpoint_line(database: Database) -> int:
    with database.session() as session:
        states = list(session.scalars(select(HarvestCheckpoint.state)))
    return states[0]["line"] if states else 0


@pytest.mark.slow
def test_a_killed_load_resumed_ends_with_exactly_the_catalog_of_one_clean_run(database, make_database, tmp_path):
    path = write_snapshot(tmp_path / "arxiv-metadata-oai-snapshot.json", demo_records(DEMO_CORPUS))
    process = start_cli("ingest", "--quiet", "--categories", "cs.CL,cs.LG", str(path), database_url=database.url)
    kill_when(process, lambda: checkpoint_line(database) > 0)  # a batch and its checkpoint are committed
    stopped_at = checkpoint_line(database)
    stored = len(stored_ids(database))
    assert 0 < stored and stopped_at < 9877

    resumed = run_cli("ingest", "--quiet", "--categories", "cs.CL,cs.LG", str(path), database_url=database.url)
    assert resumed.returncode == 0, resumed.stderr.decode()
    assert f"resuming after line {stopped_at:,}".encode() in resumed.stderr
    clean = make_database()
    uninterrupted = load(clean, path, "--categories", "cs.CL,cs.LG")
    assert uninterrupted.returncode == 0
    total = int(uninterrupted.stdout.split()[1].replace(b",", b""))
    # The resumed run read only what the killed one had not stored: nothing twice.
    assert resumed.stdout.strip() == f"added {total - stored:,} / updated 0 / unchanged 0 / rejected 0".encode()
    assert canonical_dump(database) == canonical_dump(clean)
    assert checkpoint_line(database) == 0


def test_a_checkpoint_of_another_file_by_the_same_name_is_not_used(database, tmp_path):
    path = tmp_path / "arxiv-metadata-oai-snapshot.json"
    path.write_bytes(SNAPSHOT.read_bytes())
    first = load(database, path, "--categories", "cs.CL")
    assert first.returncode == 0
    from papertide.catalog.checkpoints import save_checkpoint
    from papertide.ingest.arxiv_snapshot import ArxivSnapshotSource
    from papertide.ingest.categories import CategoryFilter

    key = ArxivSnapshotSource.checkpoint_key(path, CategoryFilter(["cs.LG"]))
    with database.session() as session:  # a run over an older file of this name stopped at line 10
        save_checkpoint(session, key, {"offset": 4000, "line": 10, "file": {"size": 1, "head": "0" * 32}})
    result = load(database, path, "--categories", "cs.LG")
    assert result.returncode == 0
    assert b"the stored checkpoint is of another file by this name; starting from the beginning" in result.stderr
    assert result.stdout.strip() == b"added 4 / updated 0 / unchanged 5 / rejected 0"


def test_a_snapshot_on_standard_input_is_refused_with_the_reason(database):
    result = run_cli("ingest", "--quiet", "-", database_url=database.url, stdin=SNAPSHOT.read_bytes())
    assert result.returncode == 1
    assert b"arXiv's metadata snapshot is read from a file (so that a stopped load can resume)" in result.stderr
    assert stored_ids(database) == set()
