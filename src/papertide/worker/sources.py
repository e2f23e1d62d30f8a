"""The sources an installation harvests, kept in the database (table ``sources``).

Three kinds, each with a schedule that suits its upstream:

* ``hf-daily``: the Hugging Face daily list of today and yesterday, every 30 minutes (a new
  installation has this one; migration 0007).
* ``arxiv-category``: one arXiv category (``cs.CL``) or archive (``math``), once a day after
  arXiv's announcement (its OAI-PMH metadata is out by 22:00 US Eastern, Sunday to Thursday), over
  OAI-PMH (the archive's set, filtered to the category) or the API's listing; the first run goes
  back ``backfill_days``.
* ``arxiv-ids``: a fixed list of papers, fetched by id once a day (new versions come in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from papertide.catalog.arxiv_ids import InvalidArxivId, parse_arxiv_id
from papertide.db import Database
from papertide.worker.models import Source
from papertide.worker.schedules import DailyAt, Every, Schedule

KINDS = ("hf-daily", "arxiv-category", "arxiv-ids")
ARXIV_EVENING = ("23:00", "America/New_York")  # an hour after arXiv's OAI metadata is out
HF_EVERY = 30
# arXiv's physics archives are OAI subsets of "physics" (physics:hep-th); the others are sets of their own.
PHYSICS_ARCHIVES = frozenset({
    "astro-ph", "cond-mat", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math-ph", "nlin",
    "nucl-ex", "nucl-th", "physics", "quant-ph",
})
_CATEGORY = re.compile(r"[a-z][a-z-]*(\.[A-Za-z][A-Za-z-]*)?")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class SourceConfigError(ValueError):
    """A source that cannot be added as given; the message says what to change."""


@dataclass(frozen=True)
class SourceSpec:
    """A source as an admin describes it, before it is stored."""

    name: str
    kind: str
    params: dict[str, Any]
    every_minutes: int | None = None
    daily_at: str | None = None
    timezone: str = "UTC"


def job_name(source_name: str) -> str:
    return f"source:{source_name}"


def schedule_of(source: Source | SourceSpec) -> Schedule:
    if source.every_minutes:
        return Every(source.every_minutes)
    return DailyAt.parse(source.daily_at or ARXIV_EVENING[0], source.timezone)


def oai_set_for(category: str) -> str:
    """The OAI-PMH set holding ``category``: its archive (``cs``), or ``physics:<archive>``."""
    archive = category.split(".", 1)[0]
    return f"physics:{archive}" if archive in PHYSICS_ARCHIVES else archive


def hf_daily(*, name: str = "hf-daily", days: int = 2, every_minutes: int = HF_EVERY) -> SourceSpec:
    if not 1 <= days <= 14:
        raise SourceConfigError("the Hugging Face list is fetched for 1 to 14 days back")
    return SourceSpec(name, "hf-daily", {"days": days}, every_minutes=every_minutes)


def arxiv_category(category: str, *, name: str | None = None, via: str = "oai", backfill_days: int = 1,
                   oai_set: str | None = None, daily_at: str = ARXIV_EVENING[0], timezone: str = ARXIV_EVENING[1]) -> SourceSpec:
    category = category.strip()
    if not _CATEGORY.fullmatch(category):
        raise SourceConfigError(f"{category!r} is not an arXiv category (like cs.CL, math, hep-th or astro-ph.CO)")
    if via not in ("oai", "api"):
        raise SourceConfigError("an arXiv category is fetched via 'oai' (OAI-PMH) or 'api' (the API's listing)")
    if not 0 <= backfill_days <= 365:
        raise SourceConfigError("the backfill is 0 to 365 days")
    params = {"category": category, "via": via, "backfill_days": backfill_days, "set": oai_set or oai_set_for(category)}
    return SourceSpec(name or f"arxiv-{category}", "arxiv-category", params, daily_at=daily_at, timezone=timezone)


def arxiv_ids(name: str, ids: list[str], *, daily_at: str = ARXIV_EVENING[0], timezone: str = ARXIV_EVENING[1]) -> SourceSpec:
    if not ids:
        raise SourceConfigError("give at least one arXiv id")
    normalised = []
    for raw in ids:
        try:
            arxiv_id, version = parse_arxiv_id(raw)
        except InvalidArxivId as error:
            raise SourceConfigError(str(error)) from None
        normalised.append(f"{arxiv_id}v{version}" if version else arxiv_id)
    return SourceSpec(name, "arxiv-ids", {"ids": sorted(set(normalised))}, daily_at=daily_at, timezone=timezone)


def add(database: Database, spec: SourceSpec) -> Source:
    """Store ``spec``; ``SourceConfigError`` for a bad name or schedule, or a name already taken."""
    if not _NAME.fullmatch(spec.name):
        raise SourceConfigError(f"{spec.name!r}: a source name is 1-100 letters, digits, '.', '_' or '-'")
    if spec.kind not in KINDS:
        raise SourceConfigError(f"unknown kind of source {spec.kind!r} (known: {', '.join(KINDS)})")
    try:
        schedule_of(spec)
    except ValueError as error:
        raise SourceConfigError(str(error)) from None
    source = Source(name=spec.name, kind=spec.kind, params=spec.params, every_minutes=spec.every_minutes,
                    daily_at=None if spec.every_minutes else spec.daily_at, timezone=spec.timezone, papers_added=0)
    try:
        with database.session() as session:
            session.add(source)
    except IntegrityError:
        raise SourceConfigError(f"there is already a source named {spec.name!r}") from None
    return source


def remove(database: Database, name: str) -> bool:
    """Forget the source ``name`` and its job (papers it brought stay); False if there was none."""
    from papertide.worker import leases

    with database.session() as session:
        source = session.scalar(select(Source).where(Source.name == name))
        if source is None:
            return False
        session.delete(source)
    leases.forget(database, job_name(name))
    return True


def listing(database: Database) -> list[Source]:
    with database.session() as session:
        return list(session.scalars(select(Source).order_by(Source.id)))


def get(database: Database, name: str) -> Source | None:
    with database.session() as session:
        return session.scalar(select(Source).where(Source.name == name))
