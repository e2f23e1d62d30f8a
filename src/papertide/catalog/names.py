"""Organisations and authors people can follow: suggestions as they type, and the catalog's
spelling of what they typed (or that it is unknown).

Organisations are rows; authors are names inside each paper's JSON list, unpacked by the backend
(SQLite's ``json_each``, PostgreSQL's ``jsonb_array_elements_text``), after a plain text match on
the stored list has kept only the papers that can hold the name (unpacking is the costly part;
docs/performance.md has the figures). Suggestions read the newest ``RECENT_PAPERS`` papers only, so typing costs the same
in a catalog of any size and offers the people publishing now; checking a name falls back to the
whole catalog.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Text, and_, case, cast, func, or_, select, true
from sqlalchemy.orm import Session

from papertide.catalog.models import Organization, Paper
from papertide.db import is_postgres

SUGGESTIONS = 8
MIN_TYPED = 3
RECENT_PAPERS = 50_000


def _pattern(typed: str) -> tuple[str, str]:
    """(``%typed%``, ``typed%``) for LIKE, with LIKE's own characters taken literally."""
    text = (typed or "").strip().lower()[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{text}%", f"{text}%"


def suggest_organizations(session: Session, typed: str, limit: int = SUGGESTIONS) -> list[tuple[str, str, int]]:
    """(slug, name, visible papers) of organisations whose name or slug contains ``typed``; the
    names starting with it first, then the ones with most papers. Without ``typed``: the largest."""
    papers = func.count(Paper.id)
    query = (
        select(Organization.slug, Organization.name, papers)
        .join(Paper, and_(Paper.organization_id == Organization.id, Paper.hidden.is_(False)))
        .group_by(Organization.id, Organization.slug, Organization.name)
    )
    order = [papers.desc(), Organization.name]
    if (typed or "").strip():
        anywhere, start = _pattern(typed)
        name, slug = func.lower(Organization.name), func.lower(Organization.slug)
        query = query.where(or_(name.like(anywhere, escape="\\"), slug.like(anywhere, escape="\\")))
        order.insert(0, case((name.like(start, escape="\\"), 0), else_=1))
    return [tuple(row) for row in session.execute(query.order_by(*order).limit(limit))]


def organization_names(session: Session, slugs: Iterable[str]) -> dict[str, str]:
    """Lower-cased slug -> display name, for the slugs that exist (followed slugs are kept lower-cased)."""
    keys = [slug.lower() for slug in slugs]
    if not keys:
        return {}
    rows = session.execute(select(func.lower(Organization.slug), Organization.name).where(func.lower(Organization.slug).in_(keys)))
    return {slug: name for slug, name in rows}


def resolve_organizations(session: Session, typed: Iterable[str]) -> tuple[list[str], list[str]]:
    """(slugs, what matched nothing): each entry is an organisation's slug or name, any case."""
    slugs, unknown = [], []
    for entry in typed:
        key = entry.strip().lower()
        slug = session.scalar(
            select(Organization.slug).where(or_(func.lower(Organization.slug) == key, func.lower(Organization.name) == key))
            .order_by(Organization.id).limit(1)
        )
        if slug is None:
            unknown.append(entry)
        elif slug not in slugs:
            slugs.append(slug)
    return slugs, unknown


def _author_names(session: Session, containing: list[str], *, recent_only: bool):
    """The author names of papers whose list contains one of ``containing`` (LIKE patterns) as a
    query to add columns to; returns (the name column, the query)."""
    unpack = func.jsonb_array_elements_text if is_postgres(session) else func.json_each
    names = unpack(Paper.authors).table_valued("value").alias("author")
    stored = cast(Paper.authors, Text)
    conditions = [Paper.hidden.is_(False), or_(*(stored.ilike(pattern, escape="\\") for pattern in containing))]
    if recent_only:
        newest = select(func.max(Paper.id)).scalar_subquery()
        conditions.append(Paper.id > newest - RECENT_PAPERS)
    return names.c.value, select().select_from(Paper).join(names, true()).where(*conditions)


def suggest_authors(session: Session, typed: str, limit: int = SUGGESTIONS) -> list[tuple[str, int]]:
    """(name, papers) of recent authors whose name contains ``typed`` (at least ``MIN_TYPED``
    characters); names starting with it first, then the most prolific."""
    if len((typed or "").strip()) < MIN_TYPED:
        return []
    anywhere, start = _pattern(typed)
    name, base = _author_names(session, [anywhere], recent_only=True)
    lowered, papers = func.lower(name), func.count()
    query = (base.add_columns(name, papers).where(lowered.like(anywhere, escape="\\"))
             .group_by(name).order_by(case((lowered.like(start, escape="\\"), 0), else_=1), papers.desc(), name).limit(limit))
    return [tuple(row) for row in session.execute(query)]


def resolve_authors(session: Session, typed: Iterable[str]) -> tuple[list[str], list[str]]:
    """(names as the catalog spells them, what matched nobody), ignoring case."""
    wanted = {entry.strip().casefold(): entry.strip() for entry in typed if entry.strip()}
    found: dict[str, str] = {}
    for recent_only in (True, False):  # the recent papers answer almost always; the rest only if not
        missing = [key for key in wanted if key not in found]
        if not missing:
            break
        name, base = _author_names(session, [_pattern(key)[0] for key in missing], recent_only=recent_only)
        rows = session.execute(base.add_columns(name).where(func.lower(name).in_([key.lower() for key in missing])).distinct())
        for (spelled,) in rows:
            found.setdefault(spelled.casefold(), spelled)
    return [found[key] for key in wanted if key in found], [wanted[key] for key in wanted if key not in found]
