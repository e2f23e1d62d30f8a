"""``papertide search`` and ``papertide index``: searching the catalog, and filling its vectors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from papertide.cli.common import open_database, open_existing_database
from papertide.config import get_settings


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date (expected YYYY-MM-DD)") from error


@click.command()
@click.argument("query")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, 200), help="How many results.")
@click.option("--from", "date_from", help="Published on or after this date (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Published on or before this date (YYYY-MM-DD).")
@click.option("--org", "organization", help="Only papers of this organisation (its slug).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result, one per line.")
def search(query: str, limit: int, date_from: str | None, date_to: str | None, organization: str | None, as_json: bool) -> None:
    """Search papers by words, meaning, arXiv id or exact title."""
    from papertide.feed import items_by_ids
    from papertide.search import SearchService, search_papers

    if not query.strip():
        raise click.UsageError("the query is empty: type some words, a title or an arXiv id")
    database = open_existing_database()
    service = SearchService(database, get_settings().embedder)
    hits = search_papers(service, query, limit=limit, published_from=_date(date_from), published_until=_date(date_to),
                         organization=organization)
    if service.semantic_error:
        click.echo(f"note: keyword search only ({service.semantic_error})", err=True)
    with database.session() as session:
        items = {item.paper.arxiv_id: item for item in items_by_ids(session, [hit.arxiv_id for hit in hits])}
    shown = [(hit, items[hit.arxiv_id]) for hit in hits if hit.arxiv_id in items]
    if as_json:
        for hit, item in shown:
            paper = item.paper
            click.echo(json.dumps({
                "arxiv_id": hit.arxiv_id, "title": paper.title, "authors": list(paper.authors or []),
                "published_at": paper.published_at.isoformat() if paper.published_at else None,
                "organization": item.organization.slug if item.organization else None,
                "score": round(hit.score, 4), "match": hit.match,
            }))
        return
    if not shown:
        click.echo("no papers found")
    for rank, (hit, item) in enumerate(shown, 1):
        day = item.paper.published_at.date().isoformat() if item.paper.published_at else "----------"
        click.echo(f"{rank:>3}. {hit.arxiv_id:<12} {day}  {item.paper.title}  [{hit.match}]")


@click.command()
@click.option("--import", "import_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Load precomputed vectors (.npz) first; only papers still missing one are embedded.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path),
              help="After indexing, write all vectors to this .npz file.")
@click.option("--limit", type=click.IntRange(min=1), help="Embed at most this many papers, then stop.")
@click.option("--threads", type=click.IntRange(min=0),
              help="threads for embedding documents (default PAPERTIDE_INDEX_THREADS, 1; 0 = one per core).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--keyword-only", is_flag=True, help="Only (re)build the keyword impact index (SQLite, 100k papers and more).")
def index(import_path: Path | None, export_path: Path | None, limit: int | None, threads: int | None, quiet: bool,
          keyword_only: bool) -> None:
    """Compute the embeddings search needs (resumable: run again to continue), then bring the
    vector graph and the keyword impact index up to date (SQLite, from 100,000 papers), so that
    the web workers only open them."""
    from papertide.search import (
        EmbedderUnavailable, IndexSummary, VectorFileError, build_keyword_index, export_vectors, import_vectors,
        index_embedder, refresh_indexes,
    )

    database = open_database()
    if keyword_only:
        built = build_keyword_index(database, progress=not quiet)
        click.echo(built.line() if built else "no keyword impact index needed (PostgreSQL, or fewer than 100,000 papers)")
        return
    try:
        embedder = index_embedder(threads)
    except EmbedderUnavailable as error:
        raise click.ClickException(f"cannot load the embedding model: {error}") from error
    imported = IndexSummary()
    if import_path:
        try:
            import_vectors(database, embedder.model_id, import_path, imported)
        except VectorFileError as error:
            raise click.ClickException(str(error)) from error
    refreshed = refresh_indexes(database, embedder, progress=not quiet, limit=limit, rebuild_keyword_index=True)
    for line in refreshed.lines():
        click.echo(line)
    if export_path:
        count = export_vectors(database, embedder.model_id, export_path)
        click.echo(f"wrote {count:,} vectors to {export_path}")
    computed = refreshed.vectors
    click.echo(IndexSummary(computed.embedded, imported.imported, computed.up_to_date - imported.imported).line())
