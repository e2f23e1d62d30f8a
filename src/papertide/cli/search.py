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
@click.option("--to", "date_to", help="Published before this date (YYYY-MM-DD).")
@click.option("--org", "organization", help="Only papers of this organisation (its slug).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per result, one per line.")
def search(query: str, limit: int, date_from: str | None, date_to: str | None, organization: str | None, as_json: bool) -> None:
    """Search papers by words, meaning, arXiv id or exact title."""
    from papertide.search.service import SearchService

    if not query.strip():
        raise click.UsageError("the query is empty: type some words, a title or an arXiv id")
    service = SearchService(open_existing_database(), get_settings().embedder)
    hits = service.search(query, limit=limit, date_from=_date(date_from), date_to=_date(date_to), organization=organization)
    if service.semantic_error:
        click.echo(f"note: keyword search only ({service.semantic_error})", err=True)
    if as_json:
        for hit in hits:
            click.echo(json.dumps(hit.to_dict()))
        return
    if not hits:
        click.echo("no papers found")
    for rank, hit in enumerate(hits, 1):
        day = hit.published_at.date().isoformat() if hit.published_at else "----------"
        click.echo(f"{rank:>3}. {hit.arxiv_id:<12} {day}  {hit.title}  [{hit.match}]")


@click.command()
@click.option("--import", "import_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Load precomputed vectors (.npz) first; only papers still missing one are embedded.")
@click.option("--export", "export_path", type=click.Path(dir_okay=False, path_type=Path),
              help="After indexing, write all vectors to this .npz file.")
@click.option("--limit", type=click.IntRange(min=1), help="Embed at most this many papers, then stop.")
@click.option("--threads", type=click.IntRange(min=0),
              help="torch threads for embedding (default PAPERTIDE_INDEX_THREADS, 1; 0 = one per core).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--keyword-only", is_flag=True, help="Only (re)build the keyword impact index (SQLite, 100k papers and more).")
def index(import_path: Path | None, export_path: Path | None, limit: int | None, threads: int | None, quiet: bool,
          keyword_only: bool) -> None:
    """Compute the embeddings search needs (resumable: run again to continue), then bring the
    vector graph and the keyword impact index up to date (SQLite, from 100,000 papers), so that
    the web workers only open them."""
    import os

    from papertide.search.embedder import EmbedderUnavailable, load_embedder
    from papertide.search import term_stats
    from papertide.search.impact_search import build_for
    from papertide.search.indexer import (
        IndexSummary, VectorFileError, export_vectors, import_vectors, index_papers, update_vector_graph,
    )
    from papertide.search.keyword import COLUMN_WEIGHTS

    database = open_database()
    if keyword_only:
        built = build_for(database, COLUMN_WEIGHTS, progress=not quiet)
        click.echo(built.line() if built else "no keyword impact index needed (PostgreSQL, or fewer than 100,000 papers)")
        return
    settings = get_settings()
    threads = settings.index_threads if threads is None else threads
    try:
        embedder = load_embedder(settings.embedder, threads=threads or os.cpu_count())
    except EmbedderUnavailable as error:
        raise click.ClickException(f"cannot load the embedding model: {error}") from error
    summary = IndexSummary()
    if import_path:
        try:
            import_vectors(database, embedder.model_id, import_path, summary)
        except VectorFileError as error:
            raise click.ClickException(str(error)) from error
    computed = index_papers(database, embedder, progress=not quiet, limit=limit)
    if term_stats.refresh_if_postgres(database.engine):
        click.echo("refreshed the keyword search statistics (PostgreSQL)")
    if built := build_for(database, COLUMN_WEIGHTS, progress=not quiet):
        click.echo(built.line())
    summary.embedded, summary.up_to_date = computed.embedded, computed.up_to_date - summary.imported
    graph = update_vector_graph(database, embedder, progress=not quiet)
    if graph is not None:
        how = "rebuilt" if graph.rebuilt else f"{graph.added:,} vectors added, {graph.removed:,} removed"
        click.echo(f"vector graph generation {graph.generation}: {how}")
    if export_path:
        count = export_vectors(database, embedder.model_id, export_path)
        click.echo(f"wrote {count:,} vectors to {export_path}")
    click.echo(summary.line())
