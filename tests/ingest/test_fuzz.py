"""Fuzzing the ingest parsers (JSONL, Hugging Face daily_papers JSON, arXiv API Atom, OAI-PMH) with
hypothesis, starting from the real recorded responses.

Two properties. Whatever the bytes, a source yields records and rejections, or refuses the input as a
whole with ``SourceError``; nothing else escapes, and every record it yields can be stored. And one
damaged record costs only itself: the records around it come out exactly as from the undamaged input.
Examples are bounded per test (see the profiles in ``conftest.py``: derandomized under CI).
"""

from __future__ import annotations

import gzip
import io
import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.ingest.arxiv_api import ATOM, ArxivAtomFileSource
from papertide.ingest.base import Checkpoint, Rejected, SourceError
from papertide.ingest.hf_daily import HfDailyFileSource
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.oai_pmh import OAI, OaiFileSource
from tests.conftest import DEMO_CORPUS
from tests.ingest.conftest import recorded

# One database for all the examples of a test: each example only adds papers, and what is checked
# is that storing them never fails.
with_database = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

SEED_LINES = gzip.decompress(DEMO_CORPUS.read_bytes()).splitlines()[:6]
HF_DAYS = [recorded(f"hf_api/daily_papers_{day}.json").read_bytes() for day in ("2024-07-22", "2025-08-20", "2026-07-27")]
ATOM_FEEDS = [recorded(f"arxiv_api/{name}.atom.xml").read_bytes()
              for name in ("q_testing_s0_m10_bc5a6c384fe9", "id_1707.08567_s0_m100_6a1afebfc6a3", "id_abc_s0_m100_b79c8dcf6bc3")]
OAI_PAGES = [recorded(f"arxiv_oai/{name}").read_bytes()
             for name in ("mikesaelim_ListRecordsResponse.xml", "atomiklabs_ListRecords_oai_dc.xml",
                          "litpuvn_GetRecord_arXivRaw.xml", "mikesaelim_ErrorResponseNoRecordsMatch.xml")]

SOURCES = {
    "jsonl": lambda data: JsonlSource(stream=io.BytesIO(data), name="fuzz"),
    "hf": lambda data: HfDailyFileSource(stream=io.BytesIO(data), name="fuzz"),
    "atom": lambda data: ArxivAtomFileSource(stream=io.BytesIO(data), name="fuzz"),
    "oai": lambda data: OaiFileSource(stream=io.BytesIO(data), name="fuzz"),
}
SEEDS = {"jsonl": [b"\n".join(SEED_LINES) + b"\n"], "hf": HF_DAYS, "atom": ATOM_FEEDS, "oai": OAI_PAGES}

FAR_DATES = ["9999-12-31", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "1000-01-01", "2024-02-30",
             "-0001-01-01", "Fri, 31 Dec 9999 23:59:59 -1200", "Mon, 1 Jan 0001 00:00:00 +1400", "1e400", ""]
MARKUP = ["<svg/onload=alert(1)>", "<details ontoggle=alert(1)>", "<think>", "a<b", "</script>", "<!--", "]]>", "&amp;"]
HOSTILE_BYTES = [b"[" * 5000, b"{" * 2000, b"\x00", b"\xff\xfe", b"\\ud800", b"\\u0000", b"\xef\xbf\xbe", b"\xe2\x80\xae",
                 b"<", b">", b"&", b'"', b"'", b",", b"]]>", b"<!DOCTYPE a [<!ENTITY b 'c'>]>", b"9999-12-31",
                 b"99999999999999999999999", b"NaN", b"\x1f\x8b"]

DEEP = "(nested 3,000 deep)"  # a placeholder: json.dumps itself cannot write that deep


def dumps(value, ensure_ascii: bool) -> bytes:
    """JSON as a source might send it: lone surrogates written raw when not escaped, DEEP expanded."""
    text = json.dumps(value, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
    return text.replace(json.dumps(DEEP).encode(), b"[" * 3000 + b"]" * 3000)


any_character = st.characters(exclude_categories=())  # surrogates and unassigned code points too
xml_character = st.characters(exclude_categories=("Cs",)).filter(
    lambda c: c in "\t\n\r" or (c >= " " and c not in "\ufffe\uffff"))
scalars = st.one_of(
    st.text(any_character, max_size=40), st.sampled_from(FAR_DATES), st.sampled_from(MARKUP),
    st.integers(min_value=-2**70, max_value=2**70), st.floats(), st.booleans(), st.none(), st.just(DEEP),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
xml_texts = st.one_of(st.text(xml_character, max_size=60), st.sampled_from(FAR_DATES + MARKUP))


@st.composite
def mutated(draw, seeds: list[bytes], newline: bool = True) -> bytes:
    """A seed with a few bytes flipped, inserted (often hostile ones), deleted, cut off, or gzipped."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        step = draw(st.sampled_from(["flip", "insert", "insert", "delete", "cut"]))
        if step == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif step == "insert":
            data[at:at] = draw(st.sampled_from(HOSTILE_BYTES) | st.binary(min_size=1, max_size=8))
        elif step == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        elif step == "cut":
            del data[at:]
    if not newline:
        data = data.replace(b"\n", b" ")
    if draw(st.integers(0, 9)) == 0:
        data = bytearray(gzip.compress(bytes(data)))
        del data[draw(st.integers(len(data) // 2, len(data))):]
    return bytes(data)


def read(source) -> list | None:
    """Every item of ``source``, or None when it refused the input as a whole; nothing else may happen."""
    try:
        items = list(source)
    except SourceError:
        return None
    assert all(isinstance(item, (PaperRecord, Rejected, Checkpoint)) for item in items), items
    return items


def store(database, items) -> None:
    with database.session() as session:
        upsert_papers(session, [item for item in items if isinstance(item, PaperRecord)])


@pytest.mark.parametrize("kind", SOURCES)
@with_database
@given(data=st.data())
def test_any_bytes_give_records_rejections_or_a_clean_refusal(database, kind, data):
    items = read(SOURCES[kind](data.draw(mutated(SEEDS[kind]))))
    if items:
        store(database, items)


def records_of(kind: str, document: bytes) -> list:
    items = read(SOURCES[kind](document))
    assert items is not None and not any(isinstance(i, Rejected) for i in items)
    return items


BASELINE_LINES = records_of("jsonl", SEEDS["jsonl"][0])


@st.composite
def hostile_line(draw) -> bytes:
    seed = draw(st.sampled_from(SEED_LINES))
    if draw(st.booleans()):
        line = draw(mutated([seed], newline=False))
    else:
        record = json.loads(seed)
        field = draw(st.sampled_from([*record, "daily_date", "submitted_on_daily_at", "org", "authors", "version"]))
        record[field] = draw(json_values)
        line = dumps(record, ensure_ascii=draw(st.booleans()))
    return line if line.strip() and not line.startswith(b"\x1f\x8b") else b"x"


@with_database
@given(at=st.integers(0, len(SEED_LINES) - 1), line=hostile_line())
def test_one_hostile_jsonl_line_costs_only_itself(database, at, line):
    lines = list(SEED_LINES)
    lines[at] = line
    items = read(SOURCES["jsonl"](b"\n".join(lines) + b"\n"))
    assert items is not None and len(items) == len(lines)
    assert [item for n, item in enumerate(items) if n != at] == [item for n, item in enumerate(BASELINE_LINES) if n != at]
    store(database, items)


@with_database
@given(day=st.sampled_from(HF_DAYS), data=st.data())
def test_one_hostile_daily_papers_item_costs_only_itself(database, day, data):
    items = json.loads(day)
    at = data.draw(st.integers(0, len(items) - 1))
    target = items[at]["paper"] if data.draw(st.booleans()) else items[at]
    target[data.draw(st.sampled_from(sorted(target)))] = data.draw(json_values)
    document = dumps(items, ensure_ascii=data.draw(st.booleans()))
    baseline = records_of("hf", day)
    found = read(SOURCES["hf"](document))
    assert found is not None and len(found) == len(baseline)
    assert [item for n, item in enumerate(found) if n != at] == [item for n, item in enumerate(baseline) if n != at]
    store(database, found)


def rewrite_one(document: bytes, entries: str, data) -> tuple[bytes, bytes, int]:
    """``document`` re-serialised as it is and with one element's text (or attribute) in one entry
    replaced by hostile text; and which entry."""
    root = ET.fromstring(document)
    listing = root.findall(entries)
    at = data.draw(st.integers(0, len(listing) - 1))
    before = ET.tostring(root)
    element = data.draw(st.sampled_from([e for e in listing[at].iter() if e is not listing[at]]))
    if element.attrib and data.draw(st.booleans()):
        element.set(data.draw(st.sampled_from(sorted(element.attrib))), data.draw(xml_texts))
    else:
        element.text = data.draw(xml_texts)
    return before, ET.tostring(root), at


def assert_only_entry_changed(kind: str, before: bytes, after: bytes, at: int) -> list:
    baseline = [i for i in records_of(kind, before) if not isinstance(i, Checkpoint)]
    found = read(SOURCES[kind](after))
    assert found is not None and len(found) == len(baseline)
    assert [item for n, item in enumerate(found) if n != at] == [item for n, item in enumerate(baseline) if n != at]
    return found


@with_database
@given(feed=st.sampled_from(ATOM_FEEDS[:2]), data=st.data())
def test_one_hostile_atom_entry_costs_only_itself(database, feed, data):
    store(database, assert_only_entry_changed("atom", *rewrite_one(feed, f"{ATOM}entry", data)))


@with_database
@given(page=st.sampled_from(OAI_PAGES[:3]), data=st.data())
def test_one_hostile_oai_record_costs_only_itself(database, page, data):
    listing = f"{OAI}ListRecords/{OAI}record" if b"<ListRecords" in page else f"{OAI}GetRecord/{OAI}record"
    store(database, assert_only_entry_changed("oai", *rewrite_one(page, listing, data)))


def test_the_seeds_are_the_formats_they_claim():
    """The recorded responses load cleanly, so a fuzz failure is about the damage, not the seed."""
    assert len(BASELINE_LINES) == 6
    assert [len(records_of("hf", day)) for day in HF_DAYS] == [16, 14, 14]
    assert [len(records_of("atom", feed)) for feed in ATOM_FEEDS[:2]] == [10, 1]
    assert [len(records_of("oai", page)) for page in OAI_PAGES] == [6, 5, 1, 0]
