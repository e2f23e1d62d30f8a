"""Hugging Face ``daily_papers`` JSON: a day's list of ``{paper: {...}, ...}`` items, as the API returns it.

The API's shape has grown over the years and all of it must load:

* 2024: ``paper`` has ``id, title, summary, authors, publishedAt, upvotes``; the item has
  ``publishedAt`` (when it was put on the list), ``numComments`` and ``submittedBy {name}``.
* 2025: ``paper`` adds ``submittedOnDailyAt``, ``submittedOnDailyBy {user}``, ``githubRepo``,
  ``githubStars``, ``projectPage``, ``ai_summary``, ``ai_keywords``; the item's ``publishedAt``
  becomes the paper's publication time.
* 2026: ``organization {name, fullname}`` on the paper and the item.

The day a paper was on the list is the date asked for (``harvest hf --date``) or, for a saved
file, the day of ``submittedOnDailyAt`` (2025 on) or of the item's ``publishedAt`` (2024).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from papertide.catalog.arxiv_ids import InvalidArxivId
from papertide.catalog.record import PaperRecord, describe_error
from papertide.ingest.base import Rejected, SourceError, SourceItem
from papertide.ingest.files import read_document
from papertide.ingest.http import FetchError, PoliteFetcher


def record_from_item(item: Any, daily_date: date | None = None) -> PaperRecord:
    """A PaperRecord from one ``daily_papers`` item (any of the three schema years)."""
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise ValueError("an item must be an object with a 'paper' object")
    paper = item["paper"]
    submitted_at = paper.get("submittedOnDailyAt")
    if submitted_at is None and "submittedOnDailyBy" not in paper:
        submitted_at = item.get("publishedAt")  # the 2024 schema: the item's time is the submission
    submitter = paper.get("submittedOnDailyBy") or item.get("submittedBy") or {}
    organization = paper.get("organization") or item.get("organization")
    when = daily_date or (submitted_at[:10] if isinstance(submitted_at, str) else None)
    fields = {
        "arxiv_id": paper.get("id"),
        "title": paper.get("title") or item.get("title"),
        "abstract": paper.get("summary") or item.get("summary") or "",
        "authors": [a for a in paper.get("authors") or [] if not (isinstance(a, dict) and a.get("hidden"))],
        "published_at": paper.get("publishedAt"),
        "github_repo": paper.get("githubRepo"),
        "github_stars": paper.get("githubStars"),
        "project_page": paper.get("projectPage"),
        "organization": _organization(organization),
        "ai_summary": paper.get("ai_summary"),
        "ai_keywords": paper.get("ai_keywords"),
        "upvotes": paper.get("upvotes") or 0,
        "num_comments": item.get("numComments") or 0,
        "daily": {
            "date": when,
            "submitted_at": submitted_at,
            "submitted_by": submitter.get("user") or submitter.get("name") if isinstance(submitter, dict) else None,
        } if when else None,
    }
    return PaperRecord.model_validate(fields)


def _organization(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return {"slug": value["name"], "name": value.get("fullname") or value["name"]}


def parse_daily_papers(data: bytes, name: str, daily_date: date | None = None) -> Iterator[SourceItem]:
    """Records from a ``daily_papers`` response body; ``SourceError`` when it is not one."""
    try:
        items = json.loads(data)
    except UnicodeDecodeError as error:
        raise SourceError(f"{name}: invalid UTF-8 at byte {error.start}") from None
    except json.JSONDecodeError as error:
        raise SourceError(f"{name}: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    if not isinstance(items, list):
        raise SourceError(f"{name}: expected a JSON array of daily_papers items, got a {type(items).__name__}")
    for number, item in enumerate(items, start=1):
        try:
            yield record_from_item(item, daily_date)
        except (ValidationError, InvalidArxivId, ValueError) as error:
            paper_id = item.get("paper", {}).get("id") if isinstance(item, dict) and isinstance(item.get("paper"), dict) else None
            where = f"item {number}" + (f" ({paper_id})" if isinstance(paper_id, str) else "")
            yield Rejected(where, describe_error(error))


class HfDailyFileSource:
    """A saved ``daily_papers`` response (file or stream, plain or gzip)."""

    def __init__(self, path: str | Path | None = None, stream: IO[bytes] | None = None, name: str | None = None,
                 daily_date: date | None = None):
        self.path, self.stream = path, stream
        self.name = name or str(path)
        self.daily_date = daily_date

    def describe(self) -> str:
        return self.name

    def __iter__(self) -> Iterator[SourceItem]:
        data = read_document(self.path, self.stream, name=self.name)
        yield from parse_daily_papers(data, self.name, self.daily_date)


class HfDailyApiSource:
    """``GET {api_url}/daily_papers?date=D``: the list of one day, fetched live."""

    def __init__(self, api_url: str, day: date, fetcher: PoliteFetcher):
        self.url = f"{api_url.rstrip('/')}/daily_papers"
        self.day = day
        self.fetcher = fetcher

    def describe(self) -> str:
        return f"Hugging Face daily papers {self.day.isoformat()}"

    def __iter__(self) -> Iterator[SourceItem]:
        try:
            response = self.fetcher.get(self.url, params={"date": self.day.isoformat()})
        except FetchError as error:
            raise SourceError(f"Hugging Face daily_papers for {self.day}: {error}") from error
        yield from parse_daily_papers(response.content, str(response.request.url), self.day)
