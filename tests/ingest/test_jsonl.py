"""JSONL sources: plain, gzip and streams, both field namings, and the runner's batching around them."""

from __future__ import annotations

import gzip
import io
import json

from sqlalchemy import select

from papertide.catalog.checkpoints import load_checkpoint
from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.catalog.record import PaperRecord
from papertide.ingest.base import Checkpoint, Rejected, SourceError
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.runner import ingest
from tests.conftest import DEMO_CORPUS


def first_lines(count: int) -> bytes:
    with gzip.open(DEMO_CORPUS) as corpus:
        return b"".join(next(corpus) for _ in range(count))


def test_plain_gzip_and_stream_give_the_same_records(tmp_path):
    data = first_lines(50)
    plain, packed = tmp_path / "p.jsonl", tmp_path / "p.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    from_plain = list(JsonlSource(plain))
    assert len(from_plain) == 50 and all(isinstance(r, PaperRecord) for r in from_plain)
    assert list(JsonlSource(packed)) == from_plain
    assert list(JsonlSource(stream=io.BytesIO(data))) == from_plain
    assert list(JsonlSource(stream=io.BytesIO(gzip.compress(data)))) == from_plain


def test_corpus_fields_become_organisation_and_daily_entry(database):
    line = json.loads(first_lines(1))
    line.update(org="acme-ai", org_name="ACME AI", github_repo="https://github.com/acme/x", submitted_by="someone")
    source = JsonlSource(stream=io.BytesIO(json.dumps(line).encode()))
    ingest(database, source, progress=False)
    with database.session() as session:
        paper = session.scalars(select(Paper)).one()
        assert session.get(Organization, paper.organization_id).name == "ACME AI"
        entry = session.scalars(select(DailyEntry)).one()
        assert (entry.daily_date.isoformat(), entry.submitted_by_name) == (line["daily_date"], "someone")


def test_paperrecord_field_names_and_unknown_fields_load():
    line = b'{"arxiv_id": "arXiv:2405.15738v3", "title": "T", "abstract": "A", "future_field": 1}\n'
    [record] = JsonlSource(stream=io.BytesIO(line))
    assert (record.arxiv_id, record.version) == ("2405.15738", 3)


def test_blank_lines_are_skipped_and_line_numbers_stay_true():
    data = b'\n{"arxiv_id": "2405.15738", "title": "T"}\n\n[1]\n'
    items = list(JsonlSource(stream=io.BytesIO(data)))
    assert len(items) == 2 and isinstance(items[1], Rejected) and items[1].where == "line 4"


def test_the_bar_total_is_estimated_from_bytes_read_without_a_pre_pass():
    source = JsonlSource(DEMO_CORPUS)
    assert source.fraction_read() is None
    iterator = iter(source)
    for _ in range(5000):
        next(iterator)
    assert 0.3 < source.fraction_read() < 0.7


class Scripted:
    """A source that yields what it is given, to watch the runner's transactions."""

    def __init__(self, *items):
        self.items = items

    def describe(self) -> str:
        return "scripted"

    def __iter__(self):
        for item in self.items:
            if isinstance(item, Exception):
                raise item
            yield item


def test_a_checkpoint_is_stored_with_the_records_before_it_and_a_failure_keeps_both(database):
    record = PaperRecord(arxiv_id="2405.15738", title="T")
    later = PaperRecord(arxiv_id="2405.15739", title="U")
    source = Scripted(record, Checkpoint("k", {"resumptionToken": "t1"}), later, SourceError("connection lost"))
    summary = ingest(database, source, progress=False)
    assert summary.error == "connection lost" and summary.counts.added == 2
    with database.session() as session:
        assert load_checkpoint(session, "k") == {"resumptionToken": "t1"}
    ingest(database, Scripted(Checkpoint("k", None)), progress=False)
    with database.session() as session:
        assert load_checkpoint(session, "k") is None
