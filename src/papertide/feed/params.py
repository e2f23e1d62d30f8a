"""What a request for a list may ask for: a sort, a page, a limit, a search text's length.

Pages, the JSON API and feeds take these from a URL, so each check turns bad input into
``InvalidQuery`` with a message that says what is expected, and every list clamps alike.
"""

from __future__ import annotations

SORTS: tuple[str, ...] = ("trending", "upvotes", "newest")
# Names other clients use for the same sorts (Hugging Face's API says "publishedAt").
SORT_ALIASES = {"publishedAt": "newest", "published": "newest", "new": "newest", "most_upvoted": "upvotes",
                "votes": "upvotes", "top": "upvotes", "hot": "trending"}
MAX_LIMIT = 100
MAX_QUERY = 500  # characters of search text kept; more is a paste accident, not a query


class InvalidQuery(ValueError):
    """A malformed period, sort or page; the message says what is expected."""


def normalise_sort(sort: str | None) -> str:
    """One of ``SORTS`` (an alias is translated; nothing means trending)."""
    sort = SORT_ALIASES.get(sort or "trending", sort or "trending")
    if sort not in SORTS:
        raise InvalidQuery(f"sort is one of {', '.join(SORTS)}")
    return sort


def page_limit(page: int, limit: int) -> tuple[int, int]:
    """``(page, limit)`` checked, the limit cut to ``MAX_LIMIT``."""
    if page < 0 or page > 100_000:
        raise InvalidQuery("the page number p starts at 0")
    if limit < 1:
        raise InvalidQuery("limit is at least 1")
    return page, min(limit, MAX_LIMIT)
