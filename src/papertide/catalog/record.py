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
from datetime import date, datetime, timezone
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from papertide.catalog.arxiv_ids import parse_arxiv_id

MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 5_000
MAX_AUTHOR_NAME = 300
MAX_SHORT_TEXT = 2_000
MAX_URL = 1_000

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2028\u2029\ufeff]")
# Tags of real HTML elements. Titles may legitimately contain other angle-bracket tokens
# (e.g. "<think>" in papers on reasoning traces), which are kept as text and escaped on output.
_HTML_ELEMENTS = (
    "a|abbr|b|body|br|button|code|div|em|embed|form|frame|head|h[1-6]|html|i|iframe|img|input|link|"
    "math|meta|object|p|pre|script|small|span|strong|style|sub|sup|svg|table|td|th|tr|u|video|audio"
)
_HTML_TAG = re.compile(rf"</?(?:{_HTML_ELEMENTS})(?:\s[^<>]*)?/?>", re.IGNORECASE)


def clean_text(value: str) -> str:
    """NFC, no control characters, single spaces: how all catalog text is stored.

    Ingest calls this on every field of every record, so the common case (text that is already
    clean) takes only C-speed checks: ``isprintable`` is False for every character ``_CONTROL``
    removes and for all whitespace but the space; ``str.split`` splits on exactly what ``\\s`` matches.
    """
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    if value.isprintable():  # no control characters, and no whitespace but plain spaces
        if "  " not in value and value[:1] != " " and value[-1:] != " ":
            return value
    else:
        value = _CONTROL.sub(" ", value)
    return " ".join(value.split())


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
    if not re.match(r"^https?://[^\s<>\"']+$", value, re.IGNORECASE):
        raise ValueError(f"not an http(s) URL: {value[:80]!r}")
    return value


Url = Annotated[str | None, AfterValidator(_url)]
ShortText = Annotated[str | None, AfterValidator(lambda v: _bounded(MAX_SHORT_TEXT, "text")(v) if v else None)]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class OrganizationRef(BaseModel):
    """An organisation as a source names it: a stable slug and a display name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slug: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    name: Annotated[str, Field(min_length=1, max_length=300)]

    _clean_name = field_validator("name", mode="before")(_clean)


class DailySubmission(BaseModel):
    """That a paper was put on the daily list: which day, when, and by whom."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    submitted_at: datetime | None = None
    submitted_by: Annotated[str | None, Field(max_length=100)] = None

    @field_validator("submitted_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class PaperRecord(BaseModel):
    """A paper as a source describes it, validated and normalised."""

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
    github_stars: Annotated[int | None, Field(ge=0)] = None
    project_page: Url = None
    organization: OrganizationRef | None = None
    ai_summary: ShortText = None
    ai_keywords: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=100)] | None = None
    upvotes: Annotated[int, Field(ge=0)] = 0
    num_comments: Annotated[int, Field(ge=0)] = 0
    daily: DailySubmission | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_version(cls, data: Any) -> Any:
        """Accept ids as people write them (``arXiv:2405.15738v2``, abs URLs) and split off the version."""
        if isinstance(data, dict):
            raw = data.get("arxiv_id")
            if not isinstance(raw, str):
                raise ValueError("arxiv_id is missing or not a string")
            arxiv_id, version = parse_arxiv_id(raw)
            data = {**data, "arxiv_id": arxiv_id}
            if version is not None and data.get("version") is None:
                data["version"] = version
        return data

    @field_validator("title", "abstract", "comment", "journal_ref", "ai_summary", "doi", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _clean(value)

    @field_validator("title")
    @classmethod
    def _plain_title(cls, value: str) -> str:
        tag = _HTML_TAG.search(value)
        if tag:
            raise ValueError(f"title contains HTML markup {tag.group(0)[:40]!r}; titles must be plain text")
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
