"""Bad input through the real command line: a clear message, the right exit code, nothing lost or half-done.

Each hostile or broken input is derived from a real file in the test itself. "Unusable" inputs must
exit 1 and leave the database exactly as it was (compared with a canonical dump); inputs with some
bad records load the rest and name each bad one by line.
"""

from __future__ import annotations

import gzip
import json

import pytest

from papertide.ingest.arxiv_api import ArxivClient
from papertide.ingest.base import SourceError
from papertide.ingest.detect import open_source
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.runner import ingest
from tests.conftest import DEMO_CORPUS
from tests.ingest.conftest import ATOM, recorded, run_cli
from tests.ingest.dump import canonical_dump
from tests.ingest.replay import Reply

ATOM_FEED = recorded("arxiv_api/id_1707.08567_s0_m100_6a1afebfc6a3.atom.xml")
OAI_PAGE = recorded("arxiv_oai/mikesaelim_ListRecordsResponse.xml")
HF_DAY = recorded("hf_api/daily_papers_2024-07-22.json")


def demo_lines(count: int) -> list[dict]:
    with gzip.open(DEMO_CORPUS, "rt", encoding="utf-8") as corpus:
        return [json.loads(next(corpus)) for _ in range(count)]


def jsonl(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.fixture
def seeded(database):
    """A database that already holds something, so "unchanged" means something."""
    summary = ingest(database, open_source(str(HF_DAY)), progress=False)
    assert summary.counts.added == 16
    return database


def ingest_file(database, tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return run_cli("ingest", "--quiet", str(path), database_url=database.url)


def assert_unusable(result, message: str) -> None:
    assert result.returncode == 1
    assert message.encode() in result.stderr, result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_malformed_records_are_rejected_by_line_and_the_rest_is_ingested(seeded, tmp_path):
    records = demo_lines(6)
    lines = jsonl(records).splitlines(keepends=True)
    lines[1] = b'{"arxiv_id": "2405.00001", "title": \n'  # broken JSON
    bad = dict(records[2], arxiv_id="2405.1")  # id of the wrong shape
    lines[2] = json.dumps(bad).encode() + b"\n"
    lines[3] = json.dumps(dict(records[3], title="<script>alert('x')</script> A title")).encode() + b"\n"
    lines[4] = json.dumps(dict(records[4], abstract="x" * (10 * 1024 * 1024))).encode() + b"\n"  # a 10 MB abstract
    result = ingest_file(seeded, tmp_path, "mixed.jsonl", b"".join(lines))
    assert result.returncode == 0, result.stderr
    err = result.stderr.decode()
    assert "line 2: invalid JSON" in err
    assert "line 3: record: not an arXiv id: '2405.1'" in err
    assert "line 4: title: title contains HTML markup '<script>'" in err
    assert "line 5: abstract: abstract is 10,485,760 characters; the limit is 20,000" in err
    assert result.stdout.strip() == b"added 2 / updated 0 / unchanged 0 / rejected 4"
    papers = canonical_dump(seeded)["papers"]
    assert records[0]["arxiv_id"] in papers and records[5]["arxiv_id"] in papers
    assert records[3]["arxiv_id"] not in papers


def test_invalid_utf8_on_a_line_rejects_that_line(seeded, tmp_path):
    records = demo_lines(3)
    lines = jsonl(records).splitlines(keepends=True)
    lines[1] = lines[1].replace(b"a", b"\xff\xfe", 1)
    result = ingest_file(seeded, tmp_path, "utf8.jsonl", b"".join(lines))
    assert result.returncode == 0
    assert b"line 2: invalid UTF-8 at byte" in result.stderr
    assert result.stdout.strip() == b"added 2 / updated 0 / unchanged 0 / rejected 1"


def test_invalid_utf8_in_a_daily_papers_item_rejects_that_item(seeded, tmp_path):
    data = HF_DAY.read_bytes().replace(b"Survey", b"Surv\xff\xfe", 1)
    result = ingest_file(seeded, tmp_path, "day.json", data)
    assert result.returncode == 0, result.stderr
    assert b"item 1: invalid UTF-8 at byte" in result.stderr
    assert result.stdout.strip() == b"added 0 / updated 0 / unchanged 15 / rejected 1"


UNUSABLE = [
    ("cut.json", HF_DAY.read_bytes()[: len(HF_DAY.read_bytes()) // 2], "invalid JSON: unexpected end of data at line"),
    ("page.xml", OAI_PAGE.read_bytes()[: len(OAI_PAGE.read_bytes()) // 2], "the XML ends early at line"),
    ("feed.xml", ATOM_FEED.read_bytes()[:-200], "the XML ends early at line"),
    ("utf8.xml", ATOM_FEED.read_bytes().replace(b"Immink", b"Imm\xffink"), "the XML is malformed at line"),
    ("encoding.xml", ATOM_FEED.read_bytes().replace(b"UTF-8", b"TTF-8", 1), "cannot be read in the encoding it declares"),
    ("rot13.xml", ATOM_FEED.read_bytes().replace(b"UTF-8", b"rot13", 1), "cannot be read in the encoding it declares"),
    ("page.xml.gz", gzip.compress(OAI_PAGE.read_bytes())[:900], "damaged or truncated"),
    ("empty.jsonl", b"", "the input is empty"),
    ("notes.txt", b"hello", "unrecognised format"),
    ("rss.xml", b"<?xml version='1.0'?><rss><channel/></rss>", "neither an arXiv Atom feed nor an OAI-PMH response"),
]


@pytest.mark.parametrize("name, data, message", UNUSABLE, ids=[case[0] for case in UNUSABLE])
def test_an_unusable_input_fails_clearly_and_changes_nothing(seeded, tmp_path, name, data, message):
    before = canonical_dump(seeded)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError, match=message):
        summary = ingest(seeded, open_source(str(path)), progress=False)
        raise SourceError(summary.error or "no error")
    assert canonical_dump(seeded) == before


def test_the_command_reports_each_unusable_input_and_exits_1(seeded, tmp_path):
    """The same inputs through the real command line, in one run (starting processes is slow)."""
    before = canonical_dump(seeded)
    paths = []
    for number, (name, data, _) in enumerate(UNUSABLE):
        paths.append(tmp_path / f"{number}-{name}")
        paths[-1].write_bytes(data)
    result = run_cli("ingest", "--quiet", *map(str, paths), database_url=seeded.url)
    assert result.returncode == 1 and b"Traceback" not in result.stderr
    errors = [line for line in result.stderr.decode().splitlines() if line.startswith("error: ")]
    assert len(errors) == len(UNUSABLE)
    for path, (_, _, message), error in zip(paths, UNUSABLE, errors):
        assert str(path) in error and message in error, error
    assert result.stdout.strip() == b"added 0 / updated 0 / unchanged 0 / rejected 0"
    assert canonical_dump(seeded) == before


def billion_laughs(feed: bytes) -> bytes:
    entities = "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    doctype = f'<!DOCTYPE feed [<!ENTITY lol0 "lol">{entities}]>'.encode()
    body = feed.split(b"?>", 1)[1].replace(b"<title>Proceedings", b"<title>&lol9; Proceedings", 1)
    return b"<?xml version='1.0' encoding='UTF-8'?>" + doctype + body


def test_an_entity_bomb_file_is_refused(seeded, tmp_path):
    before = canonical_dump(seeded)
    result = ingest_file(seeded, tmp_path, "bomb.xml", billion_laughs(ATOM_FEED.read_bytes()))
    assert_unusable(result, "entity declarations")
    assert canonical_dump(seeded) == before


def test_an_entity_bomb_from_the_network_is_refused(replay):
    replay.route("/api/query", {"search_query": "", "id_list": "1707.08567", "start": "0", "max_results": "1"},
                 Reply(200, billion_laughs(ATOM_FEED.read_bytes()), {"Content-Type": ATOM}))
    client = ArxivClient(replay.url + "/api/query", PoliteFetcher(delay=0))
    with pytest.raises(SourceError, match="declares entities"):
        list(client.lookup(["1707.08567"]))


def test_external_entities_are_refused(replay):
    feed = ATOM_FEED.read_bytes().split(b"?>", 1)[1]
    hostile = b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + feed.replace(
        b"<title>Proceedings", b"<title>&x;", 1)
    replay.route("/api/query", {"search_query": "", "id_list": "1707.08567", "start": "0", "max_results": "1"},
                 Reply(200, hostile, {"Content-Type": ATOM}))
    with pytest.raises(SourceError, match="refused"):
        list(ArxivClient(replay.url + "/api/query", PoliteFetcher(delay=0)).lookup(["1707.08567"]))


def test_a_truncated_gzip_keeps_what_came_before_the_damage_and_a_full_run_completes_it(database, tmp_path):
    whole = tmp_path / "part.jsonl.gz"
    whole.write_bytes(gzip.compress(jsonl(demo_lines(2500))))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    result = run_cli("ingest", "--quiet", str(cut), database_url=database.url)
    assert_unusable(result, "the compressed data is damaged or truncated after line")
    partial = canonical_dump(database)["papers"]
    assert 0 < len(partial) < 2500
    complete = ingest(database, open_source(str(whole)), progress=False)
    assert complete.error is None
    full = canonical_dump(database)["papers"]
    assert len(full) == 2500
    assert all(full[arxiv_id] == row for arxiv_id, row in partial.items())  # the partial state was consistent


def test_a_file_where_every_record_is_bad_fails(seeded, tmp_path):
    before = canonical_dump(seeded)
    result = ingest_file(seeded, tmp_path, "bad.jsonl", b'{"arxiv_id": "nope", "title": "x"}\n{"abstract": "no id, no title"}\n')
    assert_unusable(result, "no usable records")
    assert b"line 1:" in result.stderr and b"line 2: no id (arxiv_id, id or paper_id) and no title" in result.stderr
    assert canonical_dump(seeded) == before


def test_stdin_is_detected_too(database):
    result = run_cli("ingest", "--quiet", "-", database_url=database.url, stdin=OAI_PAGE.read_bytes())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"added 6 / updated 0 / unchanged 0 / rejected 0"
