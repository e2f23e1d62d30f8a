"""Choosing the source for a file by looking at its first bytes, not its name."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import IO

from papertide.ingest.base import Source, SourceError
from papertide.ingest.jsonl import GZIP_MAGIC, JsonlSource

SNIFF_BYTES = 4096


def sniff(head: bytes) -> str:
    """``"jsonl"``, ``"hf-json"`` (a JSON array, as the daily_papers API returns), ``"xml"`` or ``"unknown"``."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "hf-json"
    if text.startswith(b"<"):
        return "xml"
    return "unknown"


def _peek(stream: io.BufferedReader) -> bytes:
    head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]
    if head[:2] == GZIP_MAGIC:
        import zlib

        try:
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, SNIFF_BYTES)
        except zlib.error as error:
            raise SourceError(f"damaged gzip header ({error})") from error
    return head


def open_source(path: str) -> Source:
    """The source for ``path`` (``-`` reads standard input)."""
    if path == "-":
        stream = sys.stdin.buffer if isinstance(sys.stdin.buffer, io.BufferedReader) else io.BufferedReader(sys.stdin.buffer)
        return _source_for(_peek(stream), path="-", stream=stream)
    file = Path(path)
    if not file.is_file():
        raise SourceError(f"{path}: no such file")
    with file.open("rb") as raw:
        head = _peek(raw)
    return _source_for(head, path=path)


def _source_for(head: bytes, *, path: str, stream: IO[bytes] | None = None) -> Source:
    kind = sniff(head)
    name = "<stdin>" if path == "-" else path
    if kind == "jsonl":
        return JsonlSource(stream=stream, name=name) if stream is not None else JsonlSource(path)
    if not head.strip():
        raise SourceError(f"{name}: the input is empty")
    raise SourceError(f"{name}: unrecognised format (expected JSONL, Hugging Face daily_papers JSON, arXiv Atom or OAI-PMH XML)")
