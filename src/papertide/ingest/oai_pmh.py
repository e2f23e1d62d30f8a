"""arXiv OAI-PMH ``ListRecords``: bulk harvests by date range and set, in ``arXivRaw`` or ``oai_dc``.

A harvest is a chain of pages linked by resumption tokens. After each page the source yields a
``Checkpoint`` carrying the next token; the runner stores it in ``harvest_checkpoints`` in the
same transaction as the page's records, so an interrupted harvest resumes exactly where it
stopped. ``arXivRaw`` lists every version of a paper: the newest version number and date win,
the first version's date is the publication date. ``noRecordsMatch`` is an empty harvest, not an
error; every other OAI error code is an ``OaiError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element

from pydantic import ValidationError

from papertide.catalog.arxiv_ids import InvalidArxivId
from papertide.catalog.record import PaperRecord, as_utc, describe_error
from papertide.ingest.base import Checkpoint, Rejected, SourceError, SourceItem
from papertide.ingest.files import DocumentSource
from papertide.ingest.http import FetchError, PoliteFetcher
from papertide.ingest.safe_xml import local_name, parse_xml, text_of

OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"
DC = "{http://purl.org/dc/elements/1.1/}"
METADATA_FORMATS = ("arXivRaw", "oai_dc")
NO_RECORDS = "noRecordsMatch"


class OaiError(SourceError):
    """The OAI-PMH server answered with an error code other than ``noRecordsMatch``."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass
class OaiPage:
    """One ``ListRecords`` response: its records and the token for the next page (None: the last)."""

    items: list[SourceItem] = field(default_factory=list)
    token: str | None = None
    cursor: int | None = None
    complete_list_size: int | None = None


def parse_page(data: bytes, name: str) -> OaiPage:
    root = parse_xml(data, name)
    if root.tag != f"{OAI}OAI-PMH":
        raise SourceError(f"{name}: not an OAI-PMH response (root element is <{local_name(root)}>)")
    error = root.find(f"{OAI}error")
    if error is not None:
        code = error.get("code", "unknown")
        if code == NO_RECORDS:
            return OaiPage()
        raise OaiError(f"{name}: OAI-PMH error {code}: {(error.text or '').strip()}", code)
    listing = root.find(f"{OAI}ListRecords")
    if listing is None:
        listing = root.find(f"{OAI}GetRecord")
    if listing is None:
        raise SourceError(f"{name}: an OAI-PMH response without records (ListRecords or GetRecord)")
    page = OaiPage()
    for number, record in enumerate(listing.findall(f"{OAI}record"), start=1):
        item = _item(record, number)
        if item is not None:
            page.items.append(item)
    token = listing.find(f"{OAI}resumptionToken")
    if token is not None:
        page.token = (token.text or "").strip() or None
        page.cursor = _int(token.get("cursor"))
        page.complete_list_size = _int(token.get("completeListSize"))
    return page


def _item(record: Element, number: int) -> SourceItem | None:
    header = record.find(f"{OAI}header")
    identifier = (header.findtext(f"{OAI}identifier") if header is not None else None) or ""
    where = f"record {number}" + (f" ({identifier.strip()[:80]})" if identifier else "")
    if header is not None and header.get("status") == "deleted":
        return None  # withdrawn from the repository: nothing to add
    metadata = record.find(f"{OAI}metadata")
    body = next(iter(metadata), None) if metadata is not None else None
    if body is None:
        return Rejected(where, "record has no metadata")
    try:
        if body.tag == f"{ARXIV_RAW}arXivRaw":
            return record_from_arxiv_raw(body)
        if local_name(body) == "dc":
            return record_from_oai_dc(body, identifier)
        return Rejected(where, f"unsupported metadata format <{local_name(body)}> (use arXivRaw or oai_dc)")
    except (ValidationError, InvalidArxivId, ValueError) as error:
        return Rejected(where, describe_error(error))


def record_from_arxiv_raw(raw: Element) -> PaperRecord:
    """An ``arXivRaw`` record: every version is listed; the newest one is what the paper is now."""
    versions = []
    for element in raw.findall(f"{ARXIV_RAW}version"):
        match = re.fullmatch(r"v(\d{1,9})", element.get("version", ""))
        if match:
            versions.append((int(match.group(1)), _version_date(match.group(0), element.findtext(f"{ARXIV_RAW}date"))))
    versions.sort(key=lambda v: v[0])
    categories = (raw.findtext(f"{ARXIV_RAW}categories") or "").split()
    doi = (raw.findtext(f"{ARXIV_RAW}doi") or "").split()
    return PaperRecord.model_validate({
        "arxiv_id": (raw.findtext(f"{ARXIV_RAW}id") or "").strip(),
        "version": versions[-1][0] if versions else None,
        "title": text_of(raw.find(f"{ARXIV_RAW}title")),
        "abstract": text_of(raw.find(f"{ARXIV_RAW}abstract")) or "",
        "authors": split_authors(raw.findtext(f"{ARXIV_RAW}authors") or ""),
        "published_at": versions[0][1] if versions else None,
        "updated_at": versions[-1][1] if versions else None,
        "categories": categories,
        "primary_category": categories[0] if categories else None,
        "comment": raw.findtext(f"{ARXIV_RAW}comments"),
        "journal_ref": raw.findtext(f"{ARXIV_RAW}journal-ref"),
        "doi": doi[0] if doi else None,
    })


def record_from_oai_dc(dc: Element, identifier: str) -> PaperRecord:
    """A Dublin Core record: no version, categories only as words, creators as "Last, First"."""
    descriptions = [text_of(d) or "" for d in dc.findall(f"{DC}description")]
    abstract = next((d for d in descriptions if not d.strip().startswith("Comment:")), "")
    comment = next((d.strip().removeprefix("Comment:") for d in descriptions if d.strip().startswith("Comment:")), None)
    dates = [d.strip() for d in (text_of(e) or "" for e in dc.findall(f"{DC}date")) if d.strip()]
    abs_url = next((i.strip() for i in (text_of(e) or "" for e in dc.findall(f"{DC}identifier")) if "arxiv.org/abs/" in i), None)
    return PaperRecord.model_validate({
        "arxiv_id": abs_url or identifier.strip().removeprefix("oai:arXiv.org:"),
        "title": text_of(dc.find(f"{DC}title")),
        "abstract": abstract,
        "authors": [_first_last(text_of(c) or "") for c in dc.findall(f"{DC}creator")],
        "published_at": _day(dates[0]) if dates else None,
        "updated_at": _day(dates[-1]) if len(dates) > 1 else None,
        "comment": comment,
    })


_SUFFIX = re.compile(r"^(?:jr|sr|ii|iii|iv)\.?$", re.IGNORECASE)


def split_authors(text: str) -> list[str]:
    """``"A. One (MIT), B. Two, and C. Three"`` -> ``["A. One", "B. Two", "C. Three"]``."""
    text = _without_parentheses(text)  # affiliations
    names: list[str] = []
    for part in re.split(r",|\band\b", re.sub(r"\s+", " ", text)):
        part = part.strip()
        if not part:
            continue
        if _SUFFIX.match(part) and names:
            names[-1] = f"{names[-1]}, {part}"
        else:
            names.append(part)
    return names


def _without_parentheses(text: str) -> str:
    """``text`` with each outermost pair of matching parentheses, and what it holds, made a space;
    an unmatched one stays. Pairs are matched in one pass: removing innermost pairs until none was
    left took quadratic time, minutes for an authors field of a few thousand nested pairs."""
    if "(" not in text:
        return text
    opened: list[int] = []
    pairs: list[tuple[int, int]] = []
    for index, character in enumerate(text):
        if character == "(":
            opened.append(index)
        elif character == ")" and opened:
            pairs.append((opened.pop(), index + 1))
    kept, end = [], 0
    for start, stop in sorted(pairs):  # pairs nest or are apart: skip those inside the last one kept
        if start >= end:
            kept.append(text[end:start])
            end = stop
    kept.append(text[end:])
    return " ".join(kept)


def _first_last(name: str) -> str:
    last, comma, first = name.partition(",")
    return f"{first.strip()} {last.strip()}" if comma and first.strip() else name


def _version_date(version: str, text: str | None) -> datetime | None:
    """A version's date (RFC 2822, as arXivRaw writes it) in UTC; ``ValueError`` naming the version."""
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        raise ValueError(f"version {version}: unreadable date {text.strip()[:40]!r}") from None
    try:
        return as_utc(when)
    except ValueError as error:
        raise ValueError(f"version {version}: {error}") from None


def _day(text: str) -> datetime:
    return datetime.combine(date.fromisoformat(text[:10]), datetime.min.time(), tzinfo=timezone.utc)


def _int(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


@dataclass(frozen=True)
class HarvestRequest:
    """What to harvest; its ``key`` names the harvest's checkpoint."""

    base_url: str
    metadata_prefix: str = "arXivRaw"
    from_date: date | None = None
    until_date: date | None = None
    set_spec: str | None = None

    def __post_init__(self) -> None:
        if self.metadata_prefix not in METADATA_FORMATS:
            raise ValueError(f"metadata format must be one of {', '.join(METADATA_FORMATS)}")

    @property
    def key(self) -> str:
        return (f"oai-pmh {self.base_url} {self.metadata_prefix} set={self.set_spec or '*'} "
                f"from={self.from_date or '*'} until={self.until_date or '*'}")

    def first_params(self) -> dict[str, str]:
        params = {"verb": "ListRecords", "metadataPrefix": self.metadata_prefix}
        if self.from_date:
            params["from"] = self.from_date.isoformat()
        if self.until_date:
            params["until"] = self.until_date.isoformat()
        if self.set_spec:
            params["set"] = self.set_spec
        return params


class OaiHarvestSource:
    """A live harvest, page after page, starting over or from a saved resumption token."""

    def __init__(self, request: HarvestRequest, fetcher: PoliteFetcher, resume_token: str | None = None):
        self.request = request
        self.fetcher = fetcher
        self.resume_token = resume_token
        self.list_size: int | None = None  # what the server says the whole harvest holds

    def describe(self) -> str:
        r = self.request
        scope = f"{r.set_spec or 'all sets'}, {r.from_date or 'start'} to {r.until_date or 'now'}"
        return f"arXiv OAI-PMH {r.metadata_prefix} ({scope})"

    def estimated_total(self) -> int | None:
        return self.list_size

    def __iter__(self) -> Iterator[SourceItem | Checkpoint]:
        token = self.resume_token
        while True:
            params = {"verb": "ListRecords", "resumptionToken": token} if token else self.request.first_params()
            page = self._fetch(params, resumed=token is not None and token == self.resume_token)
            if page.token is not None and page.token == token:
                raise SourceError(f"OAI-PMH harvest stopped: the server answered token {token!r} with the same token")
            self.list_size = page.complete_list_size or self.list_size
            yield from page.items
            state: dict[str, Any] | None = None
            if page.token:
                state = {"resumptionToken": page.token, "cursor": page.cursor, "completeListSize": page.complete_list_size}
            yield Checkpoint(self.request.key, state)
            if page.token is None:
                return
            token = page.token

    def _fetch(self, params: dict[str, str], resumed: bool) -> OaiPage:
        name = f"OAI-PMH {self.request.base_url} ({', '.join(f'{k}={v}' for k, v in params.items())})"
        try:
            response = self.fetcher.get(self.request.base_url, params=params)
        except FetchError as error:
            raise SourceError(f"OAI-PMH harvest stopped: {error}") from error
        try:
            return parse_page(response.content, name)
        except OaiError as error:
            if resumed and error.code == "badResumptionToken":
                raise OaiError(f"{error} -- the saved resumption token has expired; run the harvest again with --restart",
                               error.code) from error
            raise


class OaiFileSource(DocumentSource):
    """A saved ``ListRecords`` (or ``GetRecord``) response; its resumption token is ignored."""

    def parse(self, data: bytes) -> Iterator[SourceItem]:
        return iter(parse_page(data, self.name).items)
