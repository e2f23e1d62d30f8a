"""What every retriever restricts a search to, as one SQL condition: dates and an organisation.

Inside search, dates are half-open: ``published_from`` inclusive, ``published_before`` exclusive
(a day's papers run from its midnight to the next, UTC). People think in whole days, so the edges
(pages, API, CLI) take an inclusive last day, ``published_until``; ``Filters.for_days`` turns it
into ``published_before`` once. Hidden papers are excluded whatever the filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.db import ids_condition


@dataclass(frozen=True)
class SqlFilter:
    """A condition on papers ``p`` with its bound parameters; ``active``: it restricts more than
    hidden papers (then a retriever applies it while it searches, not after)."""

    condition: str = "p.hidden = :hidden"
    params: dict = field(default_factory=lambda: {"hidden": False}, hash=False)
    active: bool = False


@dataclass(frozen=True)
class Filters:
    """Publication dates and an organisation slug; none of them set restricts nothing."""

    published_from: date | datetime | None = None  # inclusive
    published_before: date | datetime | None = None  # exclusive
    organization: str | None = None

    @classmethod
    def for_days(cls, published_from: date | datetime | None = None, published_until: date | None = None,
                 organization: str | None = None) -> "Filters":
        """The filters of an edge's inclusive days: ``published_until`` is the last day kept."""
        if isinstance(published_until, datetime):
            published_until = published_until.date()
        before = published_until + timedelta(days=1) if published_until is not None else None
        return cls(published_from, before, organization or None)

    @property
    def active(self) -> bool:
        return self.published_from is not None or self.published_before is not None or bool(self.organization)

    def sql(self, dialect: str) -> SqlFilter:
        """The condition for a session of ``dialect`` (times are bound as that backend stores them)."""
        clauses, params = ["p.hidden = :hidden"], {"hidden": False}
        if self.published_from is not None:
            clauses.append("p.published_at >= :published_from")
            params["published_from"] = _bound_time(self.published_from, dialect)
        if self.published_before is not None:
            clauses.append("p.published_at < :published_before")
            params["published_before"] = _bound_time(self.published_before, dialect)
        if self.organization:
            clauses.append("p.organization_id = (SELECT id FROM organizations WHERE slug = :organization)")
            params["organization"] = self.organization
        return SqlFilter(" AND ".join(clauses), params, self.active)


def passing(session: Session, ids: list[int], where: SqlFilter) -> set[int]:
    """The papers of ``ids`` that exist and pass ``where``."""
    if not ids:
        return set()
    among, params = ids_condition(session, ids, "p.id")
    return set(session.execute(text(f"SELECT p.id FROM papers AS p WHERE {among} AND {where.condition}"), {**params, **where.params}).scalars())


def _bound_time(value: date | datetime, dialect: str):
    """A filter time as ``dialect`` compares it: naive UTC text on SQLite (as ``orm.UTCDateTime``
    stores it), aware UTC on PostgreSQL (timestamptz)."""
    if isinstance(value, datetime):
        utc = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, date):
        utc = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    else:
        raise TypeError(f"expected a date or datetime, got {value!r}")
    if dialect == "sqlite":
        return utc.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return utc
