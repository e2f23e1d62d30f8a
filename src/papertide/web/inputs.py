"""What the API's URLs and forms may carry: periods, sorts, and whole numbers in ASCII digits.

Pydantic reads ``" 12 "``, ``"1_000"`` and ``"12.0"`` as 12, and Python's ``str.isdigit`` is true
for ``"²"`` (which ``int`` then refuses), so neither is a check of its own. A number the database
cannot hold (``9223372036854775808`` for a comment id) failed as a 500 in the driver. Everything
here answers a 4xx before a query is made.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from annotated_types import Ge, Le
from fastapi import Form, Path, Query
from pydantic import BeforeValidator
from starlette.convertors import Convertor, register_url_convertor

from papertide import feed
from papertide.catalog.arxiv_ids import ID_PATTERN
from papertide.orm import MAX_ID

MAX_PAGE = 100_000
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


def _ascii_digits(value: object) -> object:
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value):
        raise ValueError("a whole number in ASCII digits (0-9) is expected")
    return value


AsciiDigits = BeforeValidator(_ascii_digits)

# Query parameters and form fields used across pages, the API and actions.
# The bounds come before the digits check (as annotated_types, not Query's ge/le): after a
# validator, pydantic can no longer put them into the JSON schema as minimum and maximum.
PageNumber = Annotated[int, Ge(0), Le(MAX_PAGE), AsciiDigits, Query(description="page, from 0")]
ParentId = Annotated[int | None, Ge(1), Le(MAX_ID), AsciiDigits, Form()]


def bounded(low: int, high: int, description: str | None = None):
    """A query parameter that is a whole number from ``low`` to ``high``, in ASCII digits."""
    return Annotated[int, Ge(low), Le(high), AsciiDigits, Query(description=description)]


# Periods: the patterns are given to OpenAPI but checked by ``feed.parse_period(strict=True)``,
# which accepts the same and explains a refusal better than a regular expression does.
Day = Annotated[str, Query(description="YYYY-MM-DD, from 1900-01-01 to 2999-12-31",
                           json_schema_extra={"pattern": feed.DAY_PATTERN, "format": "date"})]
Week = Annotated[str, Query(description="YYYY-Www, e.g. 2025-W09", json_schema_extra={"pattern": feed.WEEK_PATTERN})]
Month = Annotated[str, Query(description="YYYY-MM", json_schema_extra={"pattern": feed.MONTH_PATTERN})]
# Hugging Face's name for a sort first, then papertide's names and aliases (feed.params).
SortName = Literal["publishedAt", "trending", "upvotes", "newest", "published", "new", "most_upvoted", "votes", "top", "hot"]
Sort = Annotated[SortName, Query(description="publishedAt (= newest), trending or upvotes")]

ARXIV_ID = f"^{ID_PATTERN}$"  # what the API's bodies take as an id: the id itself, no URL or prefix
# A paper in an API path: any id the catalog keys a paper by (``catalog.paper_ids``).
PaperId = Annotated[str, Path(description="an arXiv id, with or without its version (2405.15738v2, astro-ph/0601001), "
                                          "or a local id for a paper not on arXiv (local-acme-2026-003)")]


class ArxivIdConvertor(Convertor):
    """``{arxiv_id:arxiv}`` in an API path: one segment (a new-style arXiv id, or a local id), or two
    (old-style ids such as ``astro-ph/0601001`` have a slash), never followed by a word an API path puts after an id.
    With ``:path``, ``GET /api/papers/X/vote`` was read as the paper ``X/vote`` (a 404) where no GET
    exists (a 405 with Allow: POST)."""

    regex = r"[^/]+(?:/(?!(?:vote|votes|comments|similar)$)[^/]+)?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("arxiv", ArxivIdConvertor())
