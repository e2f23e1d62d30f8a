"""JSON Lines files of paper records, plain or gzip-compressed.

One JSON object per line, in the shape of ``hf_daily_papers.jsonl.gz`` (``arxiv_id``, ``title``,
``abstract``, ``authors``, ``daily_date``, ``upvotes``, ``org``/``org_name``, ...) or with
``PaperRecord``'s own field names. A paper not on arXiv carries a local id (``id``:
``local-...``) or no id at all, and is then keyed by the local id its title gives. Unknown fields are ignored, so newer exports still load.
A bad line is rejected with its number and the rest of the file goes on; a truncated archive
ends the file with a ``SourceError`` after everything before the damage was read.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from papertide.catalog.arxiv_ids import InvalidArxivId
from papertide.catalog.paper_ids import local_id_for_title
from papertide.catalog.record import PaperRecord, describe_error
from papertide.catalog.text import clean_text
from papertide.ingest.base import Rejected, SourceError, SourceItem

GZIP_MAGIC = b"\x1f\x8b"
# orjson stops at this depth while it parses, so nesting cannot exhaust the stack (the standard
# library's parser recurses until RecursionError). Real records nest four levels at most.
MAX_JSON_DEPTH = 1024


def open_maybe_gzip(stream: IO[bytes]) -> IO[bytes]:
    """Wrap ``stream`` in a gzip reader when it starts with the gzip magic bytes."""
    buffered = stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=buffered)
    return buffered


def _paper_key(obj: dict[str, Any]) -> Any:
    """The record's id: ``arxiv_id``, else ``id`` or ``paper_id`` (an arXiv id or a local id);
    a record with none of them is keyed by the local id its title gives, so loading it again
    finds the same paper."""
    for name in ("arxiv_id", "id", "paper_id"):
        if obj.get(name) is not None:
            return obj[name]
    title = obj.get("title")
    if not (isinstance(title, str) and clean_text(title)):
        raise ValueError("no id (arxiv_id, id or paper_id) and no title to derive a local id from")
    return local_id_for_title(clean_text(title))


def record_from_mapping(obj: dict[str, Any]) -> PaperRecord:
    """A PaperRecord from a flat export row (HF daily-papers corpus shape or PaperRecord shape)."""
    if not isinstance(obj, dict):
        raise ValueError("a record must be a JSON object")
    org = obj.get("organization")
    if org is None and obj.get("org"):
        org = {"slug": obj["org"], "name": obj.get("org_name") or obj["org"]}
    daily = obj.get("daily")
    if daily is None and obj.get("daily_date"):
        daily = {
            "date": obj["daily_date"],
            "submitted_at": obj.get("submitted_on_daily_at"),
            "submitted_by": obj.get("submitted_by"),
        }
    fields = {
        "arxiv_id": _paper_key(obj),
        "version": obj.get("version"),
        "title": obj.get("title"),
        "abstract": obj.get("abstract", obj.get("summary")) or "",
        "authors": obj.get("authors") or [],
        "published_at": obj.get("published_at", obj.get("publishedAt")),
        "updated_at": obj.get("updated_at"),
        "categories": obj.get("categories") or [],
        "primary_category": obj.get("primary_category"),
        "comment": obj.get("comment"),
        "journal_ref": obj.get("journal_ref"),
        "doi": obj.get("doi"),
        "github_repo": obj.get("github_repo"),
        "github_stars": obj.get("github_stars"),
        "project_page": obj.get("project_page"),
        "organization": org,
        "ai_summary": obj.get("ai_summary"),
        "ai_keywords": obj.get("ai_keywords"),
        "upvotes": obj.get("upvotes") or 0,
        "num_comments": obj.get("num_comments") or 0,
        "daily": daily,
    }
    return PaperRecord.model_validate(fields)


class JsonlSource:
    """Paper records from a JSONL file (``path``) or a binary stream such as stdin."""

    def __init__(self, path: str | Path | None = None, stream: IO[bytes] | None = None, name: str | None = None):
        if (path is None) == (stream is None):
            raise ValueError("give a path or a stream")
        self.path = Path(path) if path is not None else None
        self.stream = stream
        self.name = name or (str(path) if path is not None else "<stdin>")
        self._raw: IO[bytes] | None = None
        self._size: int | None = None

    def describe(self) -> str:
        return self.name

    def fraction_read(self) -> float | None:
        """How far through the (compressed) file reading is, for the progress bar; None for streams."""
        if self._raw is None or self._size is None or not self._size:
            return None
        try:
            return min(self._raw.tell() / self._size, 1.0)
        except (OSError, ValueError):
            return None

    def __iter__(self) -> Iterator[SourceItem]:
        if self.path is not None:
            try:
                raw = self.path.open("rb")
            except OSError as error:
                raise SourceError(f"{self.name}: cannot open: {error.strerror or error}") from error
            with raw:
                self._raw, self._size = raw, self.path.stat().st_size
                yield from self._read(raw)
            self._raw = None
        else:
            yield from self._read(self.stream)

    def _read(self, raw: IO[bytes]) -> Iterator[SourceItem]:
        data = open_maybe_gzip(raw)
        line_number = 0
        try:
            for line_number, line in enumerate(data, start=1):
                if line.strip():
                    yield self._parse(line, line_number)
        except (EOFError, zlib.error, gzip.BadGzipFile) as error:
            raise SourceError(
                f"{self.name}: the compressed data is damaged or truncated after line {line_number} ({error})"
            ) from error

    @staticmethod
    def _parse(line: bytes, line_number: int) -> SourceItem:
        where = f"line {line_number}"
        try:
            obj = orjson.loads(line)  # also checks the UTF-8
        except orjson.JSONDecodeError as error:
            return Rejected(where, json_problem(line, error, f"column {error.colno}"))
        try:
            return record_from_mapping(obj)
        except (ValidationError, InvalidArxivId, ValueError) as error:
            return Rejected(where, describe_error(error))


def json_problem(data: bytes, error: orjson.JSONDecodeError, position: str | None = None) -> str:
    """Why orjson refused ``data``, in words a person can act on; ``position`` says where, when that helps."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"invalid UTF-8 at byte {bad.start}"
    if error.msg == "depth limit exceeded":
        return f"invalid JSON: nested deeper than {MAX_JSON_DEPTH:,} levels"
    return f"invalid JSON: {error.msg}" + (f" at {position}" if position else "")
