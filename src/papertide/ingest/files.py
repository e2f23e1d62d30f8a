"""Reading a whole document (JSON array, XML feed) from a file or a stream, gzip or not."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import IO

from papertide.ingest.base import SourceError
from papertide.ingest.jsonl import open_maybe_gzip

# A document source holds its input in memory; a whole-day HF list or an OAI page is a few MB.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024


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
