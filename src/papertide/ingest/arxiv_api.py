"""The arXiv export API (``/api/query``, Atom 1.0): lookups by id and searches, page by page.

arXiv's terms: at most one request every 3 seconds, and back off when told to (429/503).
``PoliteFetcher`` does both. A 400 carries an Atom "error feed" whose one entry explains what
was wrong (e.g. ``incorrect id format for abc``); that text becomes the ``ArxivError``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from xml.etree.ElementTree import Element

from pydantic import ValidationError

from papertide.catalog.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.catalog.record import PaperRecord, describe_error
from papertide.ingest.base import Rejected, SourceError, SourceItem
from papertide.ingest.files import DocumentSource
from papertide.db import Database
from papertide.ingest.http import FetchError, PoliteFetcher
from papertide.ingest.pacing import DatabasePacer
from papertide.ingest.safe_xml import parse_xml, text_of

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ERROR_ID_PREFIX = "https://arxiv.org/api/errors"
ID_CHUNK = 100  # ids per id_list request: long enough lists, short enough URLs
PAGE_SIZE = 100


class ArxivError(SourceError):
    """The arXiv API refused a request or answered something unusable."""


class AtomPage:
    """One parsed response: its entries and the paging numbers around them."""

    def __init__(self, root: Element, name: str):
        if root.tag != f"{ATOM}feed":
            raise SourceError(f"{name}: not an Atom feed (root element is <{root.tag.rpartition('}')[2]}>)")
        self.name = name
        self.entries = root.findall(f"{ATOM}entry")
        self.total = _int(root.findtext(f"{OPENSEARCH}totalResults"))
        self.start = _int(root.findtext(f"{OPENSEARCH}startIndex")) or 0

    def error_message(self) -> str | None:
        """The explanation of an arXiv error feed, or None for a normal page."""
        for entry in self.entries:
            if (entry.findtext(f"{ATOM}id") or "").startswith(ERROR_ID_PREFIX):
                return (entry.findtext(f"{ATOM}summary") or "unknown error").strip()
        return None

    def items(self) -> Iterator[SourceItem]:
        message = self.error_message()
        if message:
            raise ArxivError(f"{self.name}: arXiv API error: {message}")
        for number, entry in enumerate(self.entries, start=self.start + 1):
            try:
                yield record_from_entry(entry)
            except (ValidationError, InvalidArxivId, ValueError) as error:
                shown = entry.findtext(f"{ATOM}id") or "no id"
                yield Rejected(f"entry {number} ({shown.strip()[:80]})", describe_error(error))


def record_from_entry(entry: Element) -> PaperRecord:
    """A PaperRecord from one Atom ``<entry>`` (its id carries the version: ``.../abs/2104.12255v1``)."""
    primary = entry.find(f"{ARXIV}primary_category")
    return PaperRecord.model_validate({
        "arxiv_id": (entry.findtext(f"{ATOM}id") or "").strip(),
        "title": text_of(entry.find(f"{ATOM}title")),
        "abstract": text_of(entry.find(f"{ATOM}summary")) or "",
        "authors": [text_of(author.find(f"{ATOM}name")) or "" for author in entry.findall(f"{ATOM}author")],
        "published_at": entry.findtext(f"{ATOM}published"),
        "updated_at": entry.findtext(f"{ATOM}updated"),
        "categories": [c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term")],
        "primary_category": primary.get("term") if primary is not None else None,
        "comment": entry.findtext(f"{ARXIV}comment"),
        "journal_ref": entry.findtext(f"{ARXIV}journal_ref"),
        "doi": entry.findtext(f"{ARXIV}doi"),
    })


def parse_atom(data: bytes, name: str) -> AtomPage:
    return AtomPage(parse_xml(data, name), name)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class ArxivClient:
    """Requests to the export API at ``api_url``, paced and retried by ``fetcher``."""

    def __init__(self, api_url: str, fetcher: PoliteFetcher | None = None):
        self.api_url = api_url
        self.fetcher = fetcher or PoliteFetcher()

    def page(self, **params: str | int) -> AtomPage:
        try:
            response = self.fetcher.get(self.api_url, params=params)
        except FetchError as error:
            raise ArxivError(self._explain(error)) from error
        return parse_atom(response.content, f"arXiv API ({_describe(params)})")

    def lookup(self, arxiv_ids: Iterable[str], chunk: int = ID_CHUNK) -> Iterator[SourceItem]:
        """Records for ``arxiv_ids`` (with or without versions), ``chunk`` ids per request.

        Ids of the wrong shape are rejected here, without asking arXiv; ids arXiv does not know
        are simply absent from the answer.
        """
        valid: list[str] = []
        for raw in arxiv_ids:
            try:
                arxiv_id, version = parse_arxiv_id(raw)
            except InvalidArxivId as error:
                yield Rejected(f"id {raw.strip()[:60]!r}", str(error))
                continue
            valid.append(f"{arxiv_id}v{version}" if version else arxiv_id)
        for start in range(0, len(valid), chunk):
            ids = valid[start : start + chunk]
            yield from self.page(search_query="", id_list=",".join(ids), start=0, max_results=len(ids)).items()

    def search(self, query: str, *, max_results: int | None = None, page_size: int = PAGE_SIZE) -> Iterator[SourceItem]:
        """Records matching ``query`` (arXiv search syntax, e.g. ``cat:cs.CL AND ti:retrieval``), a page per request."""
        start = 0
        while max_results is None or start < max_results:
            size = page_size if max_results is None else min(page_size, max_results - start)
            page = self.page(search_query=query, start=start, max_results=size)
            yield from page.items()
            start += len(page.entries)
            if not page.entries or (page.total is not None and start >= page.total):
                return

    def fetch_paper(self, arxiv_id: str) -> PaperRecord | None:
        """The record for one id (raises ``InvalidArxivId`` for text of the wrong shape), None if arXiv has no such paper."""
        parse_arxiv_id(arxiv_id)
        for item in self.lookup([arxiv_id]):
            if isinstance(item, Rejected):
                raise ArxivError(f"arXiv's record for {arxiv_id} is unusable: {item.reason}")
            return item
        return None

    def _explain(self, error: FetchError) -> str:
        if error.status == 400 and error.body:
            try:
                message = parse_atom(error.body, "arXiv API").error_message()
            except SourceError:
                message = None
            if message:
                return f"arXiv API error: {message}"
        return f"arXiv API request failed: {error}"


_interactive_fetchers: dict[tuple, PoliteFetcher] = {}


def fetch_paper(arxiv_id: str, api_url: str | None = None, fetcher: PoliteFetcher | None = None,
                database: Database | None = None, *, delay: float = 3.0, wait: float | None = None) -> PaperRecord | None:
    """One paper from arXiv by id, for "submit a paper"; None when arXiv does not know it.

    Without a ``fetcher``, one per process (and ``database``, ``delay`` and ``wait``) is shared,
    so successive submissions are paced ``delay`` seconds apart, and with a ``database`` also apart
    from every other process's requests (``DatabasePacer``). Without ``wait`` it retries briefly;
    with ``wait`` (seconds) it tries once and gives up (``ArxivError``) when arXiv's next turn is
    further away than that, or when connecting or any read takes longer: a person is waiting, and
    the submission queue tries again later.
    """
    if api_url is None:
        from papertide.config import get_settings

        api_url = get_settings().arxiv_api_url
    if fetcher is None:
        key = (database.url if database is not None else "", delay, wait)
        fetcher = _interactive_fetchers.get(key)
        if fetcher is None:
            pacer = DatabasePacer(database) if database is not None else None
            if wait is None:
                fetcher = PoliteFetcher(delay=delay, retries=2, max_wait=10.0, timeout=20.0, pacer=pacer)
            else:
                fetcher = PoliteFetcher(delay=delay, retries=0, timeout=wait, pacer=pacer, sleep=_waiting_at_most(wait))
            fetcher = _interactive_fetchers.setdefault(key, fetcher)
    return ArxivClient(api_url, fetcher).fetch_paper(arxiv_id)


def _waiting_at_most(limit: float):
    """A ``sleep`` that refuses to wait longer than ``limit`` seconds for arXiv's turn."""
    def sleep(seconds: float) -> None:
        if seconds > limit:
            raise FetchError(f"arXiv's next free turn is {seconds:.0f} s away (waiting at most {limit:g} s)")
        time.sleep(seconds)
    return sleep


class ArxivAtomFileSource(DocumentSource):
    """A saved arXiv API response."""

    def parse(self, data: bytes) -> Iterator[SourceItem]:
        return parse_atom(data, self.name).items()


class ArxivQuerySource:
    """A source over a live lookup or search, for the runner."""

    def __init__(self, client: ArxivClient, *, ids: list[str] | None = None, query: str | None = None,
                 max_results: int | None = None):
        if (ids is None) == (query is None):
            raise ValueError("give ids or a query")
        self.client, self.ids, self.query, self.max_results = client, ids, query, max_results

    def describe(self) -> str:
        return f"arXiv ids ({len(self.ids)})" if self.ids is not None else f"arXiv search {self.query!r}"

    def estimated_total(self) -> int | None:
        return len(self.ids) if self.ids is not None else self.max_results

    def __iter__(self) -> Iterator[SourceItem]:
        if self.ids is not None:
            return self.client.lookup(self.ids)
        return self.client.search(self.query, max_results=self.max_results)


def _describe(params: dict[str, str | int]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if v not in ("", None))
    return shown if len(shown) <= 120 else shown[:117] + "..."
