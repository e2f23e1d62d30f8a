"""Papers that are not on arXiv: their local ids, which no arXiv id can be mistaken for, and how a
JSONL file with such papers goes into the catalog, once however often it is loaded."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from papertide.catalog.arxiv_ids import ID_PATTERN, is_arxiv_id
from papertide.catalog.models import Paper
from papertide.catalog.paper_ids import (
    LOCAL_PATTERN, InvalidPaperId, is_arxiv_key, local_id_for_title, normalise_paper_id, parse_paper_id, title_key,
)
from papertide.ingest.base import Rejected
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.runner import ingest
from papertide.ingest.thumbnails import papers_due

ARXIV_IDS = ["2405.15738", "0704.0001", "2405.15738v2", "astro-ph/0601001", "math.GT/0309136", "quant-ph/0201082v1"]
LOCAL_IDS = ["local-acme-2026-003", "local-0123abcd4567", "local-x", local_id_for_title("Attention is all you need")]


def jsonl(*records: dict) -> JsonlSource:
    return JsonlSource(stream=io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in records)))


def papers(database) -> dict[str, str]:
    with database.session() as session:
        return dict(session.execute(select(Paper.arxiv_id, Paper.title)).all())


@pytest.mark.parametrize("key", LOCAL_IDS)
def test_a_local_id_is_never_an_arxiv_id_and_is_one_url_segment(key):
    assert not is_arxiv_id(key) and not re.fullmatch(ID_PATTERN, key)
    assert not is_arxiv_key(key)
    assert parse_paper_id(key) == (key, None) and "/" not in key and len(key) <= 40


@pytest.mark.parametrize("key", ARXIV_IDS)
def test_an_arxiv_id_is_never_a_local_id(key):
    assert not re.fullmatch(LOCAL_PATTERN, key)
    arxiv_key = parse_paper_id(key)[0]
    assert is_arxiv_key(arxiv_key) and normalise_paper_id(f"arXiv:{key}") == arxiv_key


def test_a_local_id_is_read_in_any_case_and_a_malformed_one_is_refused_with_the_expected_form():
    assert normalise_paper_id(" LOCAL-Acme-2026-003 ") == "local-acme-2026-003"
    for bad in ("local-", "local-a/b", "local-a--b", "local-ümlaut", "local-" + "a" * 40, "local-a b"):
        with pytest.raises(InvalidPaperId, match="not a local id.*local-acme-2026-003"):
            parse_paper_id(bad)
        assert normalise_paper_id(bad) is None
    with pytest.raises(InvalidPaperId, match="not an arXiv id.*or a local id"):
        parse_paper_id("nope")


def test_a_derived_id_ignores_case_punctuation_and_spacing_of_the_title():
    assert title_key("Drama: Mamba-Enabled  Model-Based RL") == "drama mamba enabled model based rl"
    assert local_id_for_title("Drama: Mamba-Enabled Model-Based RL") == local_id_for_title("drama mamba enabled model based rl")
    assert local_id_for_title("Drama: Mamba-Enabled Model-Based RL") != local_id_for_title("Drama: Mamba Enabled RL")


def test_a_record_without_an_arxiv_id_is_stored_under_its_local_id_and_loading_it_again_adds_nothing(database):
    record = {"title": "Tool-Augmented Reward Modeling", "abstract": "Reward models with tools.",
              "published_at": "2023-10-02T00:00:00Z", "org": "baidu", "org_name": "BAIDU", "upvotes": 3}
    first = ingest(database, jsonl(record), progress=False)
    assert first.counts.added == 1
    key = local_id_for_title("Tool-Augmented Reward Modeling")
    assert papers(database) == {key: "Tool-Augmented Reward Modeling"}
    again = ingest(database, jsonl(record, dict(record, title="tool augmented reward modeling")), progress=False)
    assert again.counts.added == 0
    with database.session() as session:
        paper = session.scalar(select(Paper).where(Paper.arxiv_id == key))
        assert session.scalar(select(func.count()).select_from(Paper)) == 1
        assert paper.organization.slug == "baidu" and paper.imported_upvotes == 3 and paper.daily_entry is None
        assert not paper.is_arxiv and paper.abs_url is None and paper.pdf_url is None


def test_a_lab_names_its_own_preprints_and_they_sit_beside_arxiv_papers(database):
    summary = ingest(database, jsonl(
        {"id": "local-acme-2026-001", "title": "Our first preprint"},
        {"paper_id": "LOCAL-ACME-2026-002", "title": "Our second preprint"},
        {"arxiv_id": "2405.15738v2", "title": "An arXiv paper"},
    ), progress=False)
    assert summary.counts.added == 3
    assert papers(database) == {"local-acme-2026-001": "Our first preprint", "local-acme-2026-002": "Our second preprint",
                                "2405.15738": "An arXiv paper"}


def test_a_malformed_local_id_or_a_record_with_neither_id_nor_title_is_rejected_by_line():
    items = list(jsonl({"id": "local-Our Lab/1", "title": "T"}, {"abstract": "no id and no title"}))
    assert all(isinstance(item, Rejected) for item in items)
    assert "not a local id" in items[0].reason and "no title to derive a local id from" in items[1].reason


def test_a_local_paper_on_the_daily_list_is_never_due_a_pdf_thumbnail(database):
    ingest(database, jsonl({"id": "local-acme-2026-001", "title": "Ours", "daily_date": "2025-08-18"},
                           {"arxiv_id": "2405.15738", "title": "Theirs", "daily_date": "2025-08-18"}), progress=False)
    due = papers_due(database, datetime(2025, 8, 19, tzinfo=timezone.utc), limit=10)
    assert [key for _, key in due] == ["2405.15738"]
