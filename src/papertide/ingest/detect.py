"""Choosing the source for a file by looking at its first bytes, not its name."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import IO

from papertide.ingest.arxiv_api import ArxivAtomFileSource
from papertide.ingest.arxiv_snapshot import ZIP_MAGIC, ArxivSnapshotSource
from papertide.ingest.base import Source, SourceError
from papertide.ingest.hf_daily import HfDailyFileSource
from papertide.ingest.jsonl import GZIP_MAGIC, JsonlSource
from papertide.ingest.oai_pmh import OaiFileSource

SNIFF_BYTES = 4096


_XML_ROOT = re.compile(rb"^(?:<\?.*?\?>|<!--.*?-->|\s)*<([A-Za-z_][\w.:-]*)", re.DOTALL)


def sniff(head: bytes) -> str:
    """What the first bytes look like: ``"arxiv-snapshot"`` (arXiv's bulk metadata: JSON lines
    with ``submitter`` or ``authors_parsed``, or the zip it is downloaded in), ``"jsonl"``, ``"hf-json"`` (a JSON array, as the daily_papers
    API returns), ``"arxiv-atom"``, ``"oai-pmh"``, ``"xml-dtd"`` (refused: DTDs are how entity bombs
    arrive), ``"xml"`` (something else) or ``"unknown"``."""
    if head.startswith(ZIP_MAGIC):
        return "arxiv-snapshot"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        first_line = text.partition(b"\n")[0]
        return "arxiv-snapshot" if b'"submitter":' in first_line or b'"authors_parsed":' in first_line else "jsonl"
    if text.startswith(b"["):
        return "hf-json"
    if not text.startswith(b"<"):
        return "unknown"
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        return "xml-dtd"
    match = _XML_ROOT.match(text)
    root = match.group(1).rpartition(b":")[2] if match else b""
    return {b"feed": "arxiv-atom", b"OAI-PMH": "oai-pmh"}.get(root, "xml")


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
    where = {"stream": stream, "name": name} if stream is not None else {"path": path}
    if kind == "arxiv-snapshot":
        if stream is not None:
            raise SourceError(f"{name}: arXiv's metadata snapshot is read from a file (so that a stopped load can resume), not standard input")
        return ArxivSnapshotSource(path)
    if kind == "jsonl":
        return JsonlSource(**where)
    if kind == "hf-json":
        return HfDailyFileSource(**where)
    if kind == "arxiv-atom":
        return ArxivAtomFileSource(**where)
    if kind == "oai-pmh":
        return OaiFileSource(**where)
    if kind == "xml-dtd":
        raise SourceError(f"{name}: the XML has a DTD or entity declarations (how entity-expansion bombs arrive); refused")
    if not head.strip():
        raise SourceError(f"{name}: the input is empty")
    if kind == "xml":
        raise SourceError(f"{name}: XML, but neither an arXiv Atom feed nor an OAI-PMH response")
    raise SourceError(f"{name}: unrecognised format (expected JSONL, arXiv's metadata snapshot, Hugging Face daily_papers JSON, arXiv Atom or OAI-PMH XML)")
