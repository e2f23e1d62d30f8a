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

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from papertide.catalog.arxiv_ids import InvalidArxivId
from papertide.catalog.record import PaperRecord, describe_error
from papertide.ingest.base import Rejected, SourceError, SourceItem
from papertide.ingest.files import DocumentSource
from papertide.ingest.http import FetchError, PoliteFetcher
from papertide.ingest.jsonl import json_problem


def record_from_item(item: Any, daily_date: date | None = None) -> PaperRecord:
    """A PaperRecord from one ``daily_papers`` item (any of the three schema years)."""
    if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
        raise ValueError("an item must be an object with a 'paper' object")
    paper = item["paper"]
    submitted_at = paper.get("submittedOnDailyAt")
    if submitted_at is None and "submittedOnDailyBy" not in paper:
        submitted_at = item.get("publishedAt")  # the 2024 schema: the item's time is the submission
    submitter = paper.get("submittedOnDailyBy") or item.get("submittedBy")
    submitted_by = (submitter.get("user") or submitter.get("name")) if isinstance(submitter, dict) else None
    organization = paper.get("organization") or item.get("organization")
    when = daily_date or (submitted_at[:10] if isinstance(submitted_at, str) else None)
    fields = {
        "arxiv_id": paper.get("id"),
        "title": paper.get("title") or item.get("title"),
        "abstract": paper.get("summary") or item.get("summary") or "",
        "authors": _visible(paper.get("authors") or []),
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
            "submitted_by": submitted_by,
        } if when else None,
    }
    return PaperRecord.model_validate(fields)


def _visible(authors: Any) -> Any:
    """The authors a paper's page shows (HF marks the others hidden); anything not a list is left to
    validation, which rejects it."""
    if not isinstance(authors, list):
        return authors
    return [a for a in authors if not (isinstance(a, dict) and a.get("hidden"))]


def _organization(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict) or not value.get("name"):
        return None
    return {"slug": value["name"], "name": value.get("fullname") or value["name"]}


def parse_daily_papers(data: bytes, name: str, daily_date: date | None = None) -> Iterator[SourceItem]:
    """Records from a ``daily_papers`` response body; ``SourceError`` when it is not one.

    An item that is not JSON (nested too deep, a lone surrogate, bad UTF-8) is rejected alone, like
    any bad item: when the whole body does not parse, each item of the array is parsed on its own.
    """
    try:
        items: Any = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        items = _items_one_by_one(data, name, error)
    if not isinstance(items, list):
        raise SourceError(f"{name}: expected a JSON array of daily_papers items, got a {type(items).__name__}")
    for number, item in enumerate(items, start=1):
        if isinstance(item, Rejected):
            yield Rejected(f"item {number}", item.reason)
            continue
        try:
            yield record_from_item(item, daily_date)
        except (ValidationError, InvalidArxivId, ValueError) as error:
            paper_id = item.get("paper", {}).get("id") if isinstance(item, dict) and isinstance(item.get("paper"), dict) else None
            where = f"item {number}" + (f" ({paper_id})" if isinstance(paper_id, str) else "")
            yield Rejected(where, describe_error(error))


def _items_one_by_one(data: bytes, name: str, error: orjson.JSONDecodeError) -> list[Any]:
    """The items of a body that does not parse as a whole, each parsed alone (a ``Rejected`` if it
    does not); ``SourceError`` when the array itself is broken, e.g. cut off."""
    spans = _array_elements(data)
    if spans is None:
        raise SourceError(f"{name}: {json_problem(data, error, f'line {error.lineno}, column {error.colno}')}") from None
    items: list[Any] = []
    for span in spans:
        try:
            items.append(orjson.loads(span))
        except orjson.JSONDecodeError as item_error:
            items.append(Rejected("", json_problem(span, item_error)))
    return items


# What matters for finding the elements of an array: strings (whose brackets and commas do not
# count, escapes included), brackets and commas.
_JSON_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"|[][{},]', re.DOTALL)
_CLOSING = {b"[": b"]", b"{": b"}"}


def _array_elements(data: bytes) -> list[bytes] | None:
    """The bytes of each element of the JSON array ``data`` is, or None if it is not an array whose
    brackets pair up. No JSON parser reads on past an element it refuses; this only pairs brackets."""
    body = data.strip()
    if not body.startswith(b"["):
        return None
    elements, open_brackets, start = [], [], 1
    for token in _JSON_STRUCTURE.finditer(body):
        mark = token.group()
        if mark in (b"[", b"{"):
            open_brackets.append(_CLOSING[mark])
        elif mark in (b"]", b"}"):
            if not open_brackets or open_brackets.pop() != mark:
                return None
            if not open_brackets:  # the end of the array
                last = body[start:token.start()]
                complete = elements + [last] if elements or last.strip() else elements
                return complete if token.end() == len(body) else None
        elif mark == b"," and len(open_brackets) == 1:
            elements.append(body[start:token.start()])
            start = token.end()
    return None


class HfDailyFileSource(DocumentSource):
    """A saved ``daily_papers`` response; ``daily_date`` overrides the day read from the items."""

    def __init__(self, path: str | Path | None = None, stream: IO[bytes] | None = None, name: str | None = None,
                 daily_date: date | None = None):
        super().__init__(path, stream, name)
        self.daily_date = daily_date

    def parse(self, data: bytes) -> Iterator[SourceItem]:
        return parse_daily_papers(data, self.name, self.daily_date)


class HfDailyApiSource:
    """``GET {api_url}/daily_papers?date=D`` for each day from ``first`` to ``last``, fetched live."""

    def __init__(self, api_url: str, first: date, fetcher: PoliteFetcher, last: date | None = None):
        self.url = f"{api_url.rstrip('/')}/daily_papers"
        self.days = [first + timedelta(days=n) for n in range(((last or first) - first).days + 1)]
        self.fetcher = fetcher

    def describe(self) -> str:
        span = self.days[0].isoformat() + (f" to {self.days[-1].isoformat()}" if len(self.days) > 1 else "")
        return f"Hugging Face daily papers {span}"

    def __iter__(self) -> Iterator[SourceItem]:
        for day in self.days:
            try:
                response = self.fetcher.get(self.url, params={"date": day.isoformat()})
            except FetchError as error:
                raise SourceError(f"Hugging Face daily_papers for {day}: {error}") from error
            yield from parse_daily_papers(response.content, response.url, day)
