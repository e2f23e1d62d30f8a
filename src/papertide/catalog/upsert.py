"""The one door into the catalog: an idempotent, version-aware upsert of PaperRecords.

Rules, so that sources can be ingested in any order and any number of times:

* A paper is keyed by its arXiv id without version.
* arXiv metadata (title, abstract, authors, dates, categories, ...) is replaced only by a record of
  the same or a newer version; a record without a version (Hugging Face, JSONL) never replaces
  text that came with a version, and only fills what is missing.
* Enrichment (GitHub repo, project page, organisation, AI summary) is taken whenever a source has it.
* An organisation is recognised by any id a source gave it and by its normalised name
  (``organization_keys``), so one named under two ids or two spellings is one organisation.
* Imported upvote and comment counts only grow (a source's later count replaces an earlier one).
* A paper's place on the daily list is set once: the first day seen wins.
* Votes, comments and daily entries are never touched by ingest.
* The author index (``catalog.authors``) follows every new or changed author list in the same batch.

The caller owns the transaction: one call is one batch, committed or rolled back as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from papertide.catalog import organization_keys, versions
from papertide.catalog.authors import index_authors
from papertide.catalog.models import DailyEntry, Organization, OrganizationAlias, Paper
from papertide.catalog.record import SOURCE_FIELDS, PaperRecord, content_hash
from papertide.db import lock_for_transaction
from papertide.orm import utcnow

VERSIONED_FIELDS = (
    "version", "title", "abstract", "authors", "published_at", "updated_at", "categories",
    "primary_category", "comment", "journal_ref", "doi",
)
ENRICHMENT_FIELDS = ("github_repo", "github_stars", "project_page", "ai_summary", "ai_keywords")
STORED_FIELDS = (*SOURCE_FIELDS, "organization_id", "imported_upvotes", "imported_comments", "content_hash")

papers = Paper.__table__
organizations = Organization.__table__
aliases = OrganizationAlias.__table__
daily_entries = DailyEntry.__table__


@dataclass
class UpsertCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: "UpsertCounts") -> "UpsertCounts":
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """New papers in a few multi-row INSERT statements rather than one statement per paper.

    Why: on SQLite the search index (FTS5, kept by an AFTER INSERT trigger) flushes its pending
    terms at the end of every statement, so one statement per paper wrote one tiny index segment
    per paper. With RETURNING, SQLAlchemy sends an executemany as "insertmanyvalues" batches
    (as many rows per statement as SQLite's parameter limit allows).
    """
    return list(session.execute(insert(papers).returning(papers.c.id, sort_by_parameter_order=True), rows).scalars())


def upsert_papers(session: Session, records: Sequence[PaperRecord]) -> UpsertCounts:
    """Insert or update ``records`` in one batch; returns what happened to each."""
    counts = UpsertCounts()
    if not records:
        return counts
    # Read-then-write: two ingests (say, a cron harvest and a manual load) must take turns.
    lock_for_transaction(session, "catalog-upsert")
    now = utcnow()
    orgs = _ensure_organizations(session, records)
    state = _load_papers(session, {r.arxiv_id for r in records})
    new_rows: dict[str, dict[str, Any]] = {}
    changed: dict[str, dict[str, Any]] = {}
    outcome: list[str] = []
    authors_changed: set[str] = set()

    for record in records:
        org = orgs[record.organization.slug] if record.organization else None
        current = state.get(record.arxiv_id)
        if current is None:
            row = _new_row(record, org, now)
            state[record.arxiv_id] = new_rows[record.arxiv_id] = row
            outcome.append("added")
            continue
        merged = _merge(current, record, org)
        if merged == current:
            outcome.append("unchanged")
            continue
        merged["modified_at"] = now
        if merged["authors"] != current["authors"] and record.arxiv_id not in new_rows:
            authors_changed.add(record.arxiv_id)
        state[record.arxiv_id] = merged
        if record.arxiv_id in new_rows:
            new_rows[record.arxiv_id] = merged
        else:
            changed[record.arxiv_id] = merged
        outcome.append("updated")

    if new_rows:
        ids = _insert_new(session, [_columns_only(row) for row in new_rows.values()])
        index_authors(session, {paper_id: row["authors"] for paper_id, row in zip(ids, new_rows.values())}, new=True)
    if changed:
        session.execute(
            update(papers).where(papers.c.id == bindparam("_id")),
            [{"_id": row["id"], **{k: row[k] for k in (*STORED_FIELDS, "modified_at")}} for row in changed.values()],
        )
        index_authors(session, {changed[a]["id"]: changed[a]["authors"] for a in authors_changed if a in changed})
    daily_added = _add_daily_entries(session, records, now)

    for record, what in zip(records, outcome):
        if record.arxiv_id in daily_added:  # a new daily entry changes the paper once, not per duplicate
            daily_added.discard(record.arxiv_id)
            if what == "unchanged":
                what = "updated"
        setattr(counts, what, getattr(counts, what) + 1)
    if counts.added or counts.updated:  # cached pages and lists must show the change
        versions.bump(session, versions.CATALOG, *(versions.paper_key(row["id"]) for row in changed.values()))
    return counts


def _merge(current: dict[str, Any], record: PaperRecord, org: tuple[int, str] | None) -> dict[str, Any]:
    merged = dict(current)
    fields = _source_fields(record)
    if _is_same_or_newer(record.version, current["version"]):
        merged.update({name: fields[name] for name in VERSIONED_FIELDS})
    else:
        for name in VERSIONED_FIELDS:
            if merged[name] in (None, "", []) and fields[name] not in (None, "", []):
                merged[name] = fields[name]
    for name in ENRICHMENT_FIELDS:
        if fields[name] is not None:
            merged[name] = fields[name]
    if org is not None:
        merged["organization_id"] = org[0]
    merged["imported_upvotes"] = max(current["imported_upvotes"], record.upvotes)
    merged["imported_comments"] = max(current["imported_comments"], record.num_comments)
    org_slug = org[1] if org is not None else current["_org_slug"]
    merged["_org_slug"] = org_slug
    if merged != current:  # the hash only needs computing when something changed
        merged["content_hash"] = content_hash(merged, org_slug)
    return merged


def _source_fields(record: PaperRecord) -> dict[str, Any]:
    """The record's catalog fields (read directly: ``model_dump`` would copy every list)."""
    values = record.__dict__
    return {name: values[name] for name in SOURCE_FIELDS}


def _columns_only(row: dict[str, Any]) -> dict[str, Any]:
    columns = dict(row)
    del columns["_org_slug"]  # bookkeeping for the merge, not a column
    return columns


def _is_same_or_newer(incoming: int | None, stored: int | None) -> bool:
    if incoming is None:
        return stored is None
    return stored is None or incoming >= stored


def _new_row(record: PaperRecord, org: tuple[int, str] | None, now: datetime) -> dict[str, Any]:
    row = _source_fields(record)
    org_slug = org[1] if org else None
    row.update(
        arxiv_id=record.arxiv_id,
        organization_id=org[0] if org else None,
        imported_upvotes=record.upvotes,
        imported_comments=record.num_comments,
        vote_count=0,
        comment_count=0,
        hidden=False,
        created_at=now,
        modified_at=now,
        content_hash=content_hash(row, org_slug),
        _org_slug=org_slug,
    )
    return row


def _load_papers(session: Session, arxiv_ids: set[str]) -> dict[str, dict[str, Any]]:
    columns = [papers.c.id, papers.c.arxiv_id, *(papers.c[name] for name in STORED_FIELDS), organizations.c.slug]
    query = (
        select(*columns)
        .select_from(papers.outerjoin(organizations, papers.c.organization_id == organizations.c.id))
        .where(papers.c.arxiv_id.in_(arxiv_ids))
    )
    state = {}
    for row in session.execute(query).mappings():
        values = dict(row)
        values["_org_slug"] = values.pop("slug")
        state[values["arxiv_id"]] = values
    return state


def _ensure_organizations(session: Session, records: Sequence[PaperRecord]) -> dict[str, tuple[int, str]]:
    """The organisation each record's slug names, as ``(id, its slug)``.

    A slug is looked up by its keys (``organization_keys``): the id in any case, then the
    organisation of that exact slug, then the normalised name; only an organisation known by
    none of them is created. Keys not yet recorded are added, so a slug that reached an
    organisation by its name is found by its id next time. Ingest never merges two existing
    organisations (migration 0008 did that once); it only stops making new duplicates.
    """
    wanted: dict[str, str] = {}
    for record in records:
        if record.organization:
            wanted.setdefault(record.organization.slug, record.organization.name)
    if not wanted:
        return {}
    all_keys = {key for slug, name in wanted.items() for key in organization_keys.keys(slug, name)}
    by_key = dict(session.execute(select(aliases.c.key, aliases.c.organization_id).where(aliases.c.key.in_(all_keys))).all())
    by_slug = dict(session.execute(select(organizations.c.slug, organizations.c.id).where(organizations.c.slug.in_(wanted))).all())
    chosen: dict[str, int] = {}
    to_create: dict[str, dict[str, Any]] = {}  # each key of a slug known nowhere -> the row that creates it
    for slug, name in wanted.items():
        slug_keys = organization_keys.keys(slug, name)  # its id key first
        org_id = by_key.get(slug_keys[0]) or by_slug.get(slug) or next((by_key[k] for k in slug_keys[1:] if k in by_key), None)
        if org_id is not None:
            chosen[slug] = org_id
            continue
        row = next((to_create[k] for k in slug_keys if k in to_create), None) or {"slug": slug, "name": name, "created_at": utcnow()}
        for key in slug_keys:
            to_create.setdefault(key, row)
    if to_create:
        rows = list({row["slug"]: row for row in to_create.values()}.values())
        session.execute(insert(organizations), rows)
        created = dict(session.execute(select(organizations.c.slug, organizations.c.id).where(
            organizations.c.slug.in_([row["slug"] for row in rows]))).all())
        for slug, name in wanted.items():
            if slug not in chosen:
                chosen[slug] = created[to_create[organization_keys.id_key(slug)]["slug"]]
    rows = {}
    for slug, name in wanted.items():
        for key in organization_keys.keys(slug, name):
            if key not in by_key and key not in rows:
                rows[key] = {"key": key, "organization_id": chosen[slug]}
    if rows:
        session.execute(insert(aliases), list(rows.values()))
    return _named(session, wanted, chosen)


def _named(session: Session, wanted: dict[str, str], chosen: dict[str, int]) -> dict[str, tuple[int, str]]:
    """``(id, slug)`` of the chosen organisations; a name in lower case only gives way to the same
    name written with capitals (``organization_keys.better_name``)."""
    found = session.execute(select(organizations.c.id, organizations.c.slug, organizations.c.name)
                            .where(organizations.c.id.in_(set(chosen.values())))).all()
    slugs, names = {row.id: row.slug for row in found}, {row.id: row.name for row in found}
    for slug, name in wanted.items():
        org_id = chosen[slug]
        if organization_keys.better_name(names[org_id], name) != names[org_id]:
            names[org_id] = name
            session.execute(update(organizations).where(organizations.c.id == org_id).values(name=name))
    return {slug: (chosen[slug], slugs[chosen[slug]]) for slug in wanted}


def _add_daily_entries(session: Session, records: Sequence[PaperRecord], now: datetime) -> set[str]:
    """Put papers on the daily list where a record says so and they are not there yet."""
    first_daily: dict[str, PaperRecord] = {}
    for record in records:
        if record.daily and record.arxiv_id not in first_daily:
            first_daily[record.arxiv_id] = record
    if not first_daily:
        return set()
    ids = dict(session.execute(select(papers.c.arxiv_id, papers.c.id).where(papers.c.arxiv_id.in_(first_daily))).all())
    listed = set(session.execute(select(daily_entries.c.paper_id).where(daily_entries.c.paper_id.in_(ids.values()))).scalars())
    rows, added = [], set()
    for arxiv_id, record in first_daily.items():
        paper_id = ids[arxiv_id]
        if paper_id in listed:
            continue
        daily = record.daily
        rows.append({
            "paper_id": paper_id,
            "daily_date": daily.date,
            "submitted_at": daily.submitted_at or now,
            "submitted_by_name": daily.submitted_by,
            "source": "import",
        })
        added.add(arxiv_id)
    if rows:
        session.execute(insert(daily_entries), rows)
    return added
