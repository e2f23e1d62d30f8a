"""One search request, checked once where it enters search: its text, how many results, its filters.

Every caller (pages, API, feeds, digest, CLI) builds a ``SearchQuery`` or lets ``search_papers``
build one, and everything past it trusts it: the text is cleaned and cut, the limit bounded, in
this one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from papertide.catalog.paper_ids import InvalidPaperId, parse_paper_id
from papertide.catalog.text import clean_text
from papertide.search.filters import Filters

MAX_QUERY_CHARS = 2_000  # longer input is cut: the model reads 256 tokens, FTS5 64 terms
MAX_RESULTS = 200  # the most any caller may ask for (a digest topic's depth)


@dataclass(frozen=True)
class SearchQuery:
    """``text`` cleaned as catalog text is (no NUL or other control characters, which PostgreSQL
    refuses in a parameter) and cut to ``MAX_QUERY_CHARS``; ``limit`` bounded to 1..``MAX_RESULTS``."""

    text: str
    limit: int = 20
    filters: Filters = field(default_factory=Filters)
    correct: bool = True  # False: search the words as typed ("search instead for ...")

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clean_text(self.text or "")[:MAX_QUERY_CHARS].strip())
        object.__setattr__(self, "limit", max(1, min(int(self.limit), MAX_RESULTS)))

    @property
    def empty(self) -> bool:
        """Nothing to search for: no letter or digit at all."""
        return not any(ch.isalnum() for ch in self.text)

    @property
    def arxiv_id(self) -> str | None:
        """The catalog key when the text is an arXiv id or URL, or a local id (it then means that paper only)."""
        try:
            return parse_paper_id(self.text)[0]
        except InvalidPaperId:
            return None
