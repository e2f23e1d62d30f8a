"""What every source is: an iterable of records and rejections, behind one small interface."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, Union

from papertide.catalog.record import PaperRecord


@dataclass(frozen=True)
class Rejected:
    """A record a source could not accept: where it was, and why, in words a person can act on."""

    where: str  # e.g. "line 12" or "entry 3"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Checkpoint:
    """A point a long source can resume from, stored with the records read before it.

    ``state`` is what the source needs to carry on (e.g. an OAI-PMH resumption token);
    None means the source has finished and its checkpoint can be forgotten.
    """

    key: str
    state: dict[str, Any] | None


SourceItem = Union[PaperRecord, Rejected]


class SourceError(Exception):
    """The input as a whole is unusable (truncated archive, broken XML, HTTP error, ...)."""


class Source(Protocol):
    """Anything that yields records; ``describe()`` names it in progress bars and messages."""

    def __iter__(self) -> Iterator[SourceItem | Checkpoint]: ...

    def describe(self) -> str: ...
