"""Where a page of a long list stands: which papers it shows of how many, and links both ways.

The daily list and an organisation's page share it, so both say "Papers 101–200 of 331" and
offer Previous as well as Next.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Pager:
    page: int  # from 0, as in the URL's ``p``
    pages: int
    first: int  # the position of the first paper shown, from 1
    last: int
    total: int
    prev_url: str | None
    next_url: str | None

    @property
    def note(self) -> str:
        """'17 papers' on a single page, 'Papers 101–200 of 331' on one of several."""
        if self.pages <= 1:
            return f"{self.total} paper{'s' if self.total != 1 else ''}"
        if self.first > self.total:
            return f"No papers on page {self.page + 1}: there are {self.total}"
        return f"Papers {self.first}–{self.last} of {self.total}"


def pager(page: int, limit: int, shown: int, total: int, url: Callable[[int], str]) -> Pager:
    """The pager of page ``page`` (``limit`` a page, ``shown`` on this one); ``url(n)`` is page n's address."""
    pages = max(-(-total // limit), 1)
    first = page * limit + 1
    return Pager(
        page=page, pages=pages, first=first, last=first + shown - 1, total=total,
        prev_url=url(min(page, pages) - 1) if page > 0 else None,
        next_url=url(page + 1) if page + 1 < pages else None,
    )
