"""Hostile records inside good input, through the real command line: each is rejected alone, by where
it was, and every good record around it is stored (issue 19: far dates, XML-forbidden characters,
JSON nested 100,000 deep, markup and bidi overrides in titles)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from papertide.catalog.models import DailyEntry, Organization, Paper
from tests.ingest.conftest import JSON, recorded, run_cli
from tests.ingest.dump import canonical_dump
from tests.ingest.replay import Reply
from tests.ingest.test_bad_input import demo_lines, jsonl

DEEP = b"[" * 100_000 + b"]" * 100_000
HF_DAY = recorded("hf_api/daily_papers_2025-08-20.json")
OAI_PAGE = recorded("arxiv_oai/mikesaelim_ListRecordsResponse.xml")
LAST_DAY = datetime.now(timezone.utc).date() + timedelta(days=7)
OUTSIDE = f"is outside the accepted range 1900-01-01 to {LAST_DAY} (a week after today)"


def ingest_file(database, tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return run_cli("ingest", "--quiet", str(path), database_url=database.url)


def rejections(result) -> list[str]:
    """The rejected records the command named, without the input's name before each."""
    return [line.partition(": ")[2] for line in result.stderr.decode().splitlines() if not line.startswith("error: ")]


def test_a_line_nested_100000_deep_is_rejected_alone_and_the_lines_around_it_are_stored(database, tmp_path):
    records = demo_lines(4)
    lines = jsonl(records).splitlines(keepends=True)
    lines[1] = b'{"arxiv_id": "2405.00001", "title": ' + DEEP + b"}\n"
    lines[2] = DEEP + b"\n"
    result = ingest_file(database, tmp_path, "deep.jsonl", b"".join(lines))
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    err = result.stderr.decode()
    assert "line 2: invalid JSON: nested deeper than 1,024 levels" in err
    assert "line 3: invalid JSON: nested deeper than 1,024 levels" in err
    assert result.stdout.strip() == b"added 2 / updated 0 / unchanged 0 / rejected 2"
    assert set(canonical_dump(database)["papers"]) == {records[0]["arxiv_id"], records[3]["arxiv_id"]}


def deep_day() -> tuple[bytes, list[str]]:
    """The recorded 2025-08-20 list with its third item replaced by one nested 100,000 deep."""
    items = json.loads(HF_DAY.read_bytes())
    kept = [item["paper"]["id"] for number, item in enumerate(items) if number != 2]
    parts = [json.dumps(item).encode() for item in items]
    parts[2] = b'{"paper": {"id": "2508.00001", "title": ' + DEEP + b"}}"
    return b"[\n" + b",\n".join(parts) + b"\n]", kept


def stored_ids(database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(Paper.arxiv_id)))


def test_a_daily_papers_file_with_one_item_nested_100000_deep_loads_every_other_item(database, tmp_path):
    data, kept = deep_day()
    result = ingest_file(database, tmp_path, "day.json", data)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    assert "item 3: invalid JSON: nested deeper than 1,024 levels" in result.stderr.decode()
    assert result.stdout.strip() == b"added 13 / updated 0 / unchanged 0 / rejected 1"
    assert stored_ids(database) == set(kept)


def test_harvest_hf_with_one_item_nested_100000_deep_loads_every_other_item(replay, database):
    data, kept = deep_day()
    replay.route("/api/daily_papers", {"date": "2025-08-20"}, Reply(200, data, {"Content-Type": JSON}))
    result = run_cli("harvest", "hf", "--date", "2025-08-20", "--delay", "0", "--quiet", database_url=database.url,
                     env={"PAPERTIDE_HF_API_URL": replay.url + "/api"})
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    assert result.stdout.strip() == b"added 13 / updated 0 / unchanged 0 / rejected 1"
    assert stored_ids(database) == set(kept)


def demo_with(count: int, changes: dict[int, dict]) -> list[dict]:
    """The first ``count`` demo records, with ``changes`` (by index) made to some of them."""
    return [dict(record, **changes.get(number, {})) for number, record in enumerate(demo_lines(count))]


def test_far_dates_are_rejected_by_line_and_never_stored(database, tmp_path):
    records = demo_with(5, {1: {"daily_date": "9999-12-31"}, 2: {"published_at": "9999-12-31T23:00:00-05:00"},
                            3: {"submitted_on_daily_at": "1000-01-01T00:00:00Z"}})
    result = ingest_file(database, tmp_path, "dates.jsonl", jsonl(records))
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    assert rejections(result) == [
        f"line 2: daily.date: 9999-12-31 {OUTSIDE}",
        f"line 3: published_at: 9999-12-31 23:00:00-05:00 {OUTSIDE}",
        f"line 4: daily.submitted_at: 1000-01-01 00:00:00+00:00 {OUTSIDE}",
    ]
    assert set(canonical_dump(database)["papers"]) == {records[0]["arxiv_id"], records[4]["arxiv_id"]}
    with database.session() as session:
        assert max(session.scalars(select(DailyEntry.daily_date))).year < 9999


def test_a_far_version_date_in_an_oai_page_rejects_that_record_alone(database, tmp_path):
    page = OAI_PAGE.read_bytes().replace(b"<date>Fri, 14 Nov 2008 09:07:25 GMT</date>",
                                         b"<date>Fri, 31 Dec 9999 23:59:59 -1200</date>", 1)
    result = ingest_file(database, tmp_path, "page.xml", page)
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    assert rejections(result) == [f"record 2 (oai:arXiv.org:0704.0716): version v4: 9999-12-31 23:59:59-12:00 {OUTSIDE}"]
    assert result.stdout.strip() == b"added 5 / updated 0 / unchanged 0 / rejected 1"


def test_text_is_stored_without_xml_forbidden_characters_or_bidi_overrides(database, tmp_path):
    items = json.loads(HF_DAY.read_bytes())
    paper = items[0]["paper"]
    paper["title"] = "Chain\x01 of \ufffeAgents\u202e"
    paper["summary"] = "An \uffff abstract with \u2066 junk"
    paper["authors"][0]["name"] = "Ada\u202e\x1b Lovelace"
    paper["organization"] = {"name": "acme", "fullname": "ACME\x00 \u202eAI"}
    paper["ai_keywords"] = ["key\x02word"]
    items[1]["paper"]["summary"] = "A lone \ud800 surrogate"  # not Unicode: JSON parsers differ, we refuse it
    result = ingest_file(database, tmp_path, "day.json", json.dumps(items).encode())
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    assert rejections(result) == ["item 2: invalid JSON: no low surrogate in string"]
    assert result.stdout.strip() == b"added 13 / updated 0 / unchanged 0 / rejected 1"
    with database.session() as session:
        stored = session.scalar(select(Paper).where(Paper.arxiv_id == paper["id"]))
        organization = session.scalar(select(Organization).where(Organization.slug == "acme"))
        assert (stored.title, stored.abstract) == ("Chain of Agents", "An abstract with junk")
        assert stored.authors[0] == "Ada Lovelace" and stored.ai_keywords == ["key word"]
        assert organization.name == "ACME AI"


def test_markup_in_a_title_rejects_that_record_and_think_tags_are_kept(database, tmp_path):
    records = demo_with(3, {0: {"title": "DeepSeek-R1 Thoughtology: Let's <think> about LLM Reasoning"},
                            1: {"title": "Nice <svg/onload=alert(1)> paper"},
                            2: {"title": "<details open ontoggle=alert(1)>"}})
    result = ingest_file(database, tmp_path, "titles.jsonl", jsonl(records))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert rejections(result) == [
        "line 2: title: title contains HTML markup '<svg/onload=alert(1)>'; titles must be plain text",
        "line 3: title: title contains HTML markup '<details open ontoggle=alert(1)>'; titles must be plain text",
    ]
    assert set(canonical_dump(database)["papers"]) == {records[0]["arxiv_id"]}
