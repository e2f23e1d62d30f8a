"""``PaperRecord``: the one validated shape every source produces before touching the catalog.

Validation is where hostile or broken input stops. Text is normalised (Unicode NFC, control
characters removed, whitespace collapsed) and bounded; titles must be plain text; links must be
http(s). A record that fails raises ``pydantic.ValidationError``; sources turn that into a
rejection with a line number and a one-line reason (see ``describe_error``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from papertide.catalog.paper_ids import parse_paper_id
from papertide.catalog.text import clean_text, find_markup

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 5_000
MAX_AUTHOR_NAME = 300
MAX_SHORT_TEXT = 2_000
MAX_URL = 1_000
# Imported counts: far above any real one, and two of them still add up within a 32-bit column.
MAX_COUNT = 1_000_000_000

# Dates a record may carry. arXiv opened in 1991, but its metadata has back-dated records (one
# version of physics/9403001 is dated 1986-04-25), so the floor is far below it; the ceiling is a week
# ahead, room for time zones and for lists dated ahead of a weekend. What the site computes from
# these dates (the days around one, a week, a month) then cannot leave the calendar.
FIRST_DATE = date(1900, 1, 1)
FUTURE_MARGIN = timedelta(days=7)


def _all_clean(values: list[str]) -> bool:
    """Whether ``clean_text`` would leave every value as it is and none empty: one check of the
    joined text instead of one call per value (a paper has many authors)."""
    joined = "\x1f".join(values)  # a control character: in clean text only as our separator
    return (
        all(values)
        and joined.count("\x1f") == len(values) - 1
        and joined.replace("\x1f", "").isprintable()
        and "  " not in joined
        and " \x1f" not in joined
        and "\x1f " not in joined
        and not joined.startswith(" ")
        and not joined.endswith(" ")
        and unicodedata.is_normalized("NFC", joined)
    )


def _bounded(limit: int, what: str):
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"{what} is {len(value):,} characters; the limit is {limit:,}")
        return value

    return check


def _clean(value: Any) -> Any:
    return clean_text(value) if isinstance(value, str) else value


def _url(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"\s+", "", value)  # exports sometimes wrap long URLs over lines
    if not value:
        return None
    if len(value) > MAX_URL:
        raise ValueError(f"URL is {len(value):,} characters; the limit is {MAX_URL:,}")
    if not value.isprintable() or not re.match(r"^https?://[^\s<>\"']+$", value, re.IGNORECASE):
        raise ValueError(f"not an http(s) URL: {value[:80]!r}")
    return value


Url = Annotated[str | None, AfterValidator(_url)]
ShortText = Annotated[str | None, AfterValidator(lambda v: _bounded(MAX_SHORT_TEXT, "text")(v) if v else None)]


def accepted_dates() -> tuple[date, date]:
    """The first and last day a record may name (the last moves with today, in UTC)."""
    return FIRST_DATE, datetime.now(timezone.utc).date() + FUTURE_MARGIN


def check_date(value: date | datetime, day: date | None = None) -> None:
    """``ValueError`` naming ``value`` when ``day`` (default: its own) is outside ``accepted_dates``."""
    first, last = accepted_dates()
    day = day or (value.date() if isinstance(value, datetime) else value)
    if not first <= day <= last:
        raise ValueError(f"{value} is outside the accepted range {first} to {last} (a week after today)")


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC (naive means UTC), or ``ValueError`` when that is outside ``accepted_dates``.

    The range is checked on the date as written first: moving a time at either end of the calendar
    (year 1 or 9999) to UTC overflows.
    """
    check_date(value)
    utc = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    check_date(value, utc.date())
    return utc


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _in_range(value: date | None) -> date | None:
    if value is not None:
        check_date(value)
    return value


Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class OrganizationRef(BaseModel):
    """An organisation as a source names it: a stable slug and a display name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slug: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    name: Annotated[str, Field(min_length=1, max_length=300)]

    _clean_name = field_validator("name", mode="before")(_clean)


class DailySubmission(BaseModel):
    """That a paper was put on the daily list: which day, when, and by whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: Annotated[date, AfterValidator(_in_range)]
    submitted_at: datetime | None = None
    submitted_by: Annotated[str | None, Field(max_length=100)] = None

    _clean_submitter = field_validator("submitted_by", mode="before")(_clean)

    @field_validator("submitted_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class PaperRecord(BaseModel):
    """A paper as a source describes it, validated and normalised.

    ``arxiv_id`` is the paper's catalog key: its arXiv id, or a local id (``catalog.paper_ids``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    arxiv_id: str
    version: Annotated[int | None, Field(ge=1, le=1000)] = None
    title: Annotated[str, Field(min_length=1), AfterValidator(_bounded(MAX_TITLE, "title"))]
    abstract: Annotated[str, AfterValidator(_bounded(MAX_ABSTRACT, "abstract"))] = ""
    authors: Annotated[list[str], Field(max_length=MAX_AUTHORS)] = []
    published_at: datetime | None = None
    updated_at: datetime | None = None
    categories: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] = []
    primary_category: Annotated[str | None, Field(max_length=40)] = None
    comment: ShortText = None
    journal_ref: ShortText = None
    doi: Annotated[str | None, Field(max_length=200)] = None
    github_repo: Url = None
    github_stars: Count | None = None
    project_page: Url = None
    organization: OrganizationRef | None = None
    ai_summary: ShortText = None
    ai_keywords: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] | None = None
    upvotes: Count = 0
    num_comments: Count = 0
    daily: DailySubmission | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_version(cls, data: Any) -> Any:
        """Accept ids as people write them (``arXiv:2405.15738v2``, abs URLs) and split off the
        version. A local id (``local-...``, see ``catalog.paper_ids``) is taken as it is."""
        if isinstance(data, dict):
            raw = data.get("arxiv_id")
            if not isinstance(raw, str):
                raise ValueError("arxiv_id is missing or not a string")
            arxiv_id, version = parse_paper_id(raw)
            data = {**data, "arxiv_id": arxiv_id}
            if version is not None and data.get("version") is None:
                data["version"] = version
        return data

    @field_validator("title", "abstract", "comment", "journal_ref", "ai_summary", "doi", "primary_category", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _clean(value)

    @field_validator("title")
    @classmethod
    def _plain_title(cls, value: str) -> str:
        markup = find_markup(value)
        if markup:
            raise ValueError(f"title contains HTML markup {markup[:40]!r}; titles must be plain text")
        return value

    @field_validator("authors", mode="before")
    @classmethod
    def _authors(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        names = [name.get("name") if isinstance(name, dict) else name for name in value]  # HF/arXiv give {"name": ...}
        if not all(isinstance(name, str) for name in names):
            raise ValueError("each author must be a name")
        if not _all_clean(names):
            names = [name for name in map(clean_text, names) if name]
        if names and max(map(len, names)) > MAX_AUTHOR_NAME:
            longest = max(map(len, names))
            raise ValueError(f"an author name is {longest:,} characters; the limit is {MAX_AUTHOR_NAME}")
        return names

    @field_validator("ai_keywords", "categories", mode="before")
    @classmethod
    def _string_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            if all(isinstance(v, str) for v in value) and _all_clean(value):
                return value
            return [clean_text(v) for v in value if isinstance(v, str) and v.strip()]
        return value

    @field_validator("published_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


def describe_error(error: ValidationError | ValueError) -> str:
    """One line a person can act on: ``title: title contains HTML markup '<script>'``."""
    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors()[:3]:
            where = ".".join(str(p) for p in item.get("loc", ())) or "record"
            message = item.get("msg", "invalid").removeprefix("Value error, ")
            parts.append(f"{where}: {message}")
        return "; ".join(parts)
    return str(error)


SOURCE_FIELDS = (
    "version", "title", "abstract", "authors", "published_at", "updated_at", "categories",
    "primary_category", "comment", "journal_ref", "doi", "github_repo", "github_stars",
    "project_page", "ai_summary", "ai_keywords",
)


def content_hash(fields: dict[str, Any], organization_slug: str | None) -> str:
    """A stable hash of the source-derived fields of a paper (see ``Paper.content_hash``)."""
    canonical = {name: fields.get(name) for name in SOURCE_FIELDS}
    canonical["organization"] = organization_slug
    blob = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    return hashlib.sha256(blob).hexdigest()
