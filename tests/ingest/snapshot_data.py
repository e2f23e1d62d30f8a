"""Files in the exact shape of arXiv's bulk metadata snapshot, made from the demo corpus's real
papers: for the kill test (the corpus as it is) and the throughput benchmark (copies under new
ids, as many as asked for).

The demo records carry no categories, so each paper gets a primary category and up to two
cross-lists drawn from its arXiv id (the same every time); versions and TeX author strings are
written the way arXiv writes them.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

CATEGORIES = ("cs.CL", "cs.LG", "cs.CV", "cs.AI", "stat.ML", "cs.RO", "eess.AS", "q-bio.NC", "math.OC", "hep-th")
LICENSE = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"


def demo_records(corpus: Path) -> list[dict[str, Any]]:
    """The demo's arXiv papers (an arXiv snapshot holds no paper under a local id)."""
    with gzip.open(corpus, "rb") as lines:
        return [record for line in lines if line.strip() and "arxiv_id" in (record := orjson.loads(line))]


def rfc2822(moment: datetime) -> str:
    return moment.strftime("%a, ") + f"{moment.day} " + moment.strftime("%b %Y %H:%M:%S GMT")


def snapshot_object(record: dict[str, Any], arxiv_id: str | None = None) -> dict[str, Any]:
    """The snapshot's object for one demo record (under ``arxiv_id`` if given)."""
    arxiv_id = arxiv_id or record["arxiv_id"]
    digest = hashlib.blake2b(arxiv_id.encode(), digest_size=4).digest()
    primary = CATEGORIES[digest[0] % len(CATEGORIES)]
    cross = [c for c in (CATEGORIES[digest[1] % len(CATEGORIES)], CATEGORIES[digest[2] % 7]) if c != primary]
    published = datetime.fromisoformat(record["published_at"].replace("Z", "+00:00"))
    versions = [published + timedelta(days=30 * n, hours=n) for n in range(1 + digest[3] % 3)]
    authors = record["authors"] or ["Anonymous"]
    return {
        "id": arxiv_id,
        "submitter": authors[0],
        "authors": ", ".join(authors),
        "title": record["title"],
        "comments": None,
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": " ".join(dict.fromkeys([primary, *cross])),
        "license": LICENSE,
        "abstract": "  " + record["abstract"] + "\n",
        "versions": [{"version": f"v{n}", "created": rfc2822(moment)} for n, moment in enumerate(versions, 1)],
        "update_date": versions[-1].date().isoformat(),
        "authors_parsed": [[*reversed(name.rsplit(" ", 1)), ""] if " " in name else [name, "", ""] for name in authors],
    }


def snapshot_lines(records: list[dict[str, Any]], count: int | None = None) -> Iterator[bytes]:
    """``count`` snapshot lines (default: one per record); past the records' number, copies of
    them under new-style ids of their own."""
    count = len(records) if count is None else count
    for n in range(count):
        record = records[n % len(records)]
        arxiv_id = record["arxiv_id"] if n < len(records) else f"{1001 + n // 99_999 % 8_999:04d}.{n % 99_999:05d}"
        yield orjson.dumps(snapshot_object(record, arxiv_id)) + b"\n"


def write_snapshot(path: Path, records: list[dict[str, Any]], count: int | None = None) -> Path:
    with path.open("wb") as out:
        out.writelines(snapshot_lines(records, count))
    return path
