"""Sources whose input is one whole document (a JSON array, an XML feed), from a file or a stream, gzip or not."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from papertide.ingest.base import SourceError, SourceItem
from papertide.ingest.jsonl import open_maybe_gzip

# A document source holds its input in memory; a whole-day HF list or an OAI page is a few MB.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024


def read_document(path: str | Path | None = None, stream: IO[bytes] | None = None, *, name: str) -> bytes:
    """The (decompressed) bytes of a file or stream; ``SourceError`` when unreadable or truncated."""
    try:
        raw = Path(path).open("rb") if path is not None else stream
    except OSError as error:
        raise SourceError(f"{name}: cannot open: {error.strerror or error}") from error
    try:
        data = open_maybe_gzip(raw).read(MAX_DOCUMENT_BYTES + 1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise SourceError(f"{name}: the compressed data is damaged or truncated ({error})") from error
    finally:
        if path is not None:
            raw.close()
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(f"{name}: larger than {MAX_DOCUMENT_BYTES // 2**20} MB; split it or use JSONL")
    return data


class DocumentSource:
    """A saved document (``path``, or a binary ``stream`` such as stdin) that ``parse`` turns into items."""

    def __init__(self, path: str | Path | None = None, stream: IO[bytes] | None = None, name: str | None = None):
        if (path is None) == (stream is None):
            raise ValueError("give a path or a stream")
        self.path, self.stream = path, stream
        self.name = name or str(path)

    def describe(self) -> str:
        return self.name

    def __iter__(self) -> Iterator[SourceItem]:
        yield from self.parse(read_document(self.path, self.stream, name=self.name))

    def parse(self, data: bytes) -> Iterator[SourceItem]:
        raise NotImplementedError
