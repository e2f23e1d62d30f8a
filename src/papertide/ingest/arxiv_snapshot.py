"""arXiv's bulk metadata snapshot: one JSON object per line for every paper arXiv has.

The file distributed for bulk use (``arxiv-metadata-oai-snapshot.json``, plain, gzip or the zip
it is downloaded in) has, per line: ``id`` (``2101.11408`` or old-style ``hep-th/9901001``),
``submitter``, ``authors`` (one TeX string), ``title``, ``comments``, ``journal-ref``, ``doi``,
``report-no``, ``categories`` (space-separated, primary first), ``license``, ``abstract``,
``versions`` (``[{"version": "v1", "created": RFC 2822 date}, ...]``), ``update_date`` and
``authors_parsed`` (``[[last, first, suffix], ...]``, accents already decoded). A paper is as
its newest version says; its first version's date is its publication date, as with arXivRaw.

The source streams the file once, keeps the papers of the categories asked for (decided from
the ``categories`` text before the line is parsed, so skipping costs little), and yields a
``Checkpoint`` (the byte offset and line after a batch) that the runner stores in the same
transaction as the batch: a run killed at any point resumes after the last stored batch.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
import zlib
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import ValidationError

from papertide.catalog.arxiv_ids import InvalidArxivId
from papertide.catalog.record import PaperRecord, describe_error
from papertide.ingest.base import Checkpoint, Rejected, SourceError, SourceItem
from papertide.ingest.categories import CategoryFilter
from papertide.ingest.jsonl import GZIP_MAGIC, json_problem
from papertide.ingest.oai_pmh import split_authors, version_date

ZIP_MAGIC = b"PK\x03\x04"
BATCH = 2_000  # papers per batch (and checkpoint)
SCAN_LINES = 50_000  # lines read without a kept paper before a checkpoint still records the progress
_MONTHS = {name: number for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
_CATEGORIES = b'"categories":"'


def record_from_snapshot(obj: Any) -> PaperRecord:
    """A ``PaperRecord`` from one snapshot object (``ValueError``/``ValidationError`` if unusable)."""
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    versions = _versions(obj.get("versions"))
    categories = obj.get("categories") or ""
    if not isinstance(categories, str):
        raise ValueError("categories must be a space-separated string")
    categories = categories.split()
    doi = obj.get("doi")
    doi = doi.split() if isinstance(doi, str) else None
    return PaperRecord.model_validate({
        "arxiv_id": obj.get("id"),
        "version": versions[-1][0] if versions else None,
        "title": obj.get("title"),
        "abstract": obj.get("abstract") or "",
        "authors": _authors(obj),
        "published_at": versions[0][1] if versions else None,
        "updated_at": versions[-1][1] if versions else None,
        "categories": categories,
        "primary_category": categories[0] if categories else None,
        "comment": obj.get("comments"),
        "journal_ref": obj.get("journal-ref"),
        "doi": doi[0] if doi else None,
    })


def _versions(value: Any) -> list[tuple[int, datetime | None]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("versions must be a list")
    found = []
    for entry in value:
        name = entry.get("version") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name[:1] != "v" or not name[1:].isdecimal() or len(name) > 10:
            raise ValueError(f"unreadable version entry {str(entry)[:60]!r}")
        created = entry.get("created")
        found.append((int(name[1:]), _created(name, created if isinstance(created, str) else None)))
    found.sort(key=lambda v: v[0])
    return found


def _created(version: str, text: str | None) -> datetime | None:
    """``Mon, 2 Apr 2007 19:18:42 GMT`` read directly (the snapshot's one spelling, a few times
    faster than the email parser); any other spelling goes to the email parser."""
    parts = text.split() if text else ()
    if len(parts) == 6 and parts[5] == "GMT" and parts[2] in _MONTHS and parts[1].isdecimal() and parts[3].isdecimal():
        clock = parts[4].split(":")
        if len(clock) == 3 and all(p.isdecimal() for p in clock):
            try:
                return datetime(int(parts[3]), _MONTHS[parts[2]], int(parts[1]), *map(int, clock), tzinfo=timezone.utc)
            except ValueError:
                pass  # the email parser says what is wrong
    return version_date(version, text)


def _authors(obj: dict[str, Any]) -> list[str]:
    """Names from ``authors_parsed`` (``[last, first, suffix, affiliation...]``, accents decoded),
    else split from the TeX ``authors`` string. ``PaperRecord`` collapses stray spaces."""
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        try:
            names = [" ".join(filter(None, (entry[1], entry[0], entry[2] if len(entry) > 2 else "")))
                     for entry in parsed if type(entry) is list]
            if len(names) == len(parsed) and all(type(name) is str for name in names):
                return names
        except (TypeError, IndexError):
            pass  # an entry that is not [last, first, ...] strings: the TeX string says the same
    text = obj.get("authors")
    return split_authors(text) if isinstance(text, str) else []


def file_identity(path: Path) -> dict[str, Any]:
    """Enough to tell that a checkpoint belongs to this very file: its size and first 64 KiB."""
    with path.open("rb") as raw:
        head = raw.read(65536)
    return {"size": path.stat().st_size, "head": hashlib.blake2b(head, digest_size=16).hexdigest()}


class ArxivSnapshotSource:
    """The snapshot at ``path``, filtered by ``categories`` (None: every paper), from the start or
    from a stored checkpoint (``resume_from``). ``key`` names its checkpoint."""

    batches_at_checkpoints = True  # the runner commits a batch at each Checkpoint, with it

    def __init__(self, path: str | Path, categories: CategoryFilter | None = None, *, batch: int = BATCH,
                 scan_lines: int = SCAN_LINES):
        self.path = Path(path)
        self.categories = categories
        self.batch, self.scan_lines = batch, scan_lines
        try:
            self.identity = file_identity(self.path)
        except OSError as error:
            raise SourceError(f"{self.path}: cannot open: {error.strerror or error}") from error
        self.resume: dict[str, Any] | None = None
        self.skipped = 0  # lines of other categories
        self._raw: IO[bytes] | None = None
        self._start = 0  # where in the file this run began: the progress bar counts from there

    def resume_from(self, state: dict[str, Any] | None) -> bool:
        """Carry on from a stored checkpoint ``state``; False (start over) when there is none or it
        belongs to another file that now has this name."""
        usable = state is not None and state.get("file") == self.identity
        self.resume = state if usable else None
        return usable

    @staticmethod
    def checkpoint_key(path: str | Path, categories: CategoryFilter | None) -> str:
        return f"arxiv-snapshot {Path(path).resolve()} categories={categories.describe() if categories else '*'}"

    @property
    def key(self) -> str:
        return self.checkpoint_key(self.path, self.categories)

    def describe(self) -> str:
        return f"{self.path.name} ({self.categories.describe() if self.categories else 'all categories'})"

    def fraction_read(self) -> float | None:
        try:
            if not self._raw or self.identity["size"] <= self._start:
                return None
            return min((self._raw.tell() - self._start) / (self.identity["size"] - self._start), 1.0)
        except (OSError, ValueError):
            return None

    def __iter__(self) -> Iterator[SourceItem | Checkpoint]:
        try:
            raw = self.path.open("rb")
        except OSError as error:
            raise SourceError(f"{self.path}: cannot open: {error.strerror or error}") from error
        with raw:
            self._raw = raw
            offset = line_number = 0
            if self.resume:
                offset, line_number = self.resume["offset"], self.resume["line"]
            try:
                lines = _open_lines(raw, self.path, offset)
                self._start = raw.tell()
                yield from self._read(lines, offset, line_number)
            except (EOFError, zlib.error, gzip.BadGzipFile, zipfile.BadZipFile) as error:
                raise SourceError(f"{self.path}: the compressed data is damaged or truncated ({error})") from error
            finally:
                self._raw = None

    def _read(self, lines: IO[bytes], offset: int, line_number: int) -> Iterator[SourceItem | Checkpoint]:
        items = scanned = 0
        wanted = self.categories
        for line in lines:
            offset += len(line)
            line_number += 1
            scanned += 1
            if wanted is None or _maybe_wanted(line, wanted):
                item = self._parse(line, line_number, wanted)
                if item is not None:
                    yield item
                    items += 1
                else:
                    self.skipped += 1
            else:
                self.skipped += 1
            if items >= self.batch or scanned >= self.scan_lines:
                yield Checkpoint(self.key, {"offset": offset, "line": line_number, "file": self.identity})
                items = scanned = 0
        yield Checkpoint(self.key, None)  # read to the end: nothing left to resume

    @staticmethod
    def _parse(line: bytes, line_number: int, wanted: CategoryFilter | None) -> SourceItem | None:
        if not line.strip():
            return None
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            return Rejected(f"line {line_number}", json_problem(line, error, f"column {error.colno}"))
        where = f"line {line_number}" + (f" ({obj['id'][:40]})" if isinstance(obj, dict) and isinstance(obj.get("id"), str) else "")
        if wanted is not None and isinstance(obj, dict):
            categories = obj.get("categories")
            if isinstance(categories, str) and not wanted.matches(categories):
                return None
        try:
            return record_from_snapshot(obj)
        except (ValidationError, InvalidArxivId, ValueError) as error:
            return Rejected(where, describe_error(error))


def _maybe_wanted(line: bytes, wanted: CategoryFilter) -> bool:
    """Whether the line may be of a wanted category, from its ``"categories":"..."`` text alone.

    The key spelled that way cannot occur inside a JSON string (its quotes would be escaped), so
    the first occurrence is the field. A line written differently (spaces, escapes) is parsed."""
    start = line.find(_CATEGORIES)
    if start < 0:
        return True
    start += len(_CATEGORIES)
    end = line.find(b'"', start)
    value = line[start:end]
    if end < 0 or b"\\" in value:
        return True
    return wanted.matches(value.decode("utf-8", "replace"))


def _open_lines(raw: IO[bytes], path: Path, offset: int) -> IO[bytes]:
    """The decompressed lines of ``raw`` from byte ``offset`` of the decompressed data."""
    buffered = io.BufferedReader(raw, buffer_size=1 << 20)
    head = buffered.peek(4)[:4]
    if head[:2] == GZIP_MAGIC:
        data: IO[bytes] = gzip.GzipFile(fileobj=buffered)
    elif head == ZIP_MAGIC:
        data = _zip_member(buffered, path)
    else:
        if offset:
            buffered.seek(offset)
        return buffered
    _skip(data, offset)
    return io.BufferedReader(data, buffer_size=1 << 20) if not isinstance(data, io.BufferedReader) else data


def _zip_member(buffered: IO[bytes], path: Path) -> IO[bytes]:
    archive = zipfile.ZipFile(buffered)
    members = [info for info in archive.infolist() if not info.is_dir()]
    if len(members) != 1:
        raise SourceError(f"{path}: a zip archive of {len(members)} files; the snapshot's archive holds one")
    return archive.open(members[0])


def _skip(data: IO[bytes], count: int) -> None:
    """Read past ``count`` bytes of a stream that cannot seek (compressed data is read through)."""
    while count > 0:
        chunk = data.read(min(count, 1 << 22))
        if not chunk:
            raise SourceError("the file is shorter than its checkpoint says: it changed since the interrupted run")
        count -= len(chunk)
