"""Format detection looks at content, not names: every recorded kind of input finds its source."""

from __future__ import annotations

import gzip

import pytest

from papertide.ingest.arxiv_api import ArxivAtomFileSource
from papertide.ingest.detect import open_source, sniff
from papertide.ingest.hf_daily import HfDailyFileSource
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.oai_pmh import OaiFileSource
from tests.conftest import DEMO_CORPUS
from tests.ingest.conftest import recorded


@pytest.mark.parametrize("path, kind", [
    (DEMO_CORPUS, JsonlSource),
    (recorded("hf_api/daily_papers_2025-08-20.json"), HfDailyFileSource),
    (recorded("arxiv_api/q_testing_s0_m10_bc5a6c384fe9.atom.xml"), ArxivAtomFileSource),
    (recorded("arxiv_oai/litpuvn_ListRecords_arXivRaw.xml"), OaiFileSource),
    (recorded("arxiv_oai/atomiklabs_ListRecords_oai_dc.xml"), OaiFileSource),  # no XML declaration
])
def test_each_recorded_format_is_recognised(path, kind):
    assert isinstance(open_source(str(path)), kind)


def test_gzip_is_seen_through(tmp_path):
    packed = tmp_path / "whatever.bin"
    packed.write_bytes(gzip.compress(recorded("hf_api/daily_papers_2024-07-22.json").read_bytes()))
    source = open_source(str(packed))
    assert isinstance(source, HfDailyFileSource) and len(list(source)) == 16


@pytest.mark.parametrize("head, kind", [
    (b'\xef\xbb\xbf{"arxiv_id": "2405.15738"}', "jsonl"),
    (b"\n  [ {", "hf-json"),
    (b"<?xml version='1.0'?>\n<!-- a comment -->\n<feed xmlns='http://www.w3.org/2005/Atom'>", "arxiv-atom"),
    (b'<?xml version="1.0"?><oai:OAI-PMH xmlns:oai="http://www.openarchives.org/OAI/2.0/">', "oai-pmh"),
    (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "b">]><feed>', "xml-dtd"),
    (b"<html><body>", "xml"),
    (b"PK\x03\x04", "arxiv-snapshot"),  # the zip arXiv's snapshot is downloaded in: the one zip read
    (b'{"id":"0704.0001","submitter":"Pavel Nadolsky","authors":"C. Bal\\\'azs"', "arxiv-snapshot"),
    (b'{"id": "0704.0001", "title": "T", "authors_parsed": [["Bal\\u00e1zs", "C.", ""]]}\n', "arxiv-snapshot"),
    (b'{"id": "0704.0001", "title": "T"}\n{"submitter": "x"}', "jsonl"),  # the first line decides
    (b"PK\x05\x06", "unknown"),
])
def test_sniff(head, kind):
    assert sniff(head) == kind
