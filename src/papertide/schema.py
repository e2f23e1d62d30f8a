"""Every table papertide has, gathered for migrations and tests."""

from papertide.catalog import models as _catalog  # noqa: F401
from papertide.community import models as _community  # noqa: F401
from papertide.digest import models as _digest  # noqa: F401
from papertide.search.semantic import models as _search  # noqa: F401
from papertide.worker import models as _worker  # noqa: F401
from papertide.orm import Base

metadata = Base.metadata

# Tables a fresh migration already fills with defaults (0007: the ``hf-daily`` source): a copy into
# a new database replaces those rows instead of refusing the target as not empty (``db_copy``).
SEEDED_TABLES = frozenset({"sources"})

# Search structures the migrations create beside the ORM tables, on one backend each: SQLite's
# FTS5 table (0002, with its shadow tables), PostgreSQL's generated tsvector and pgvector
# columns (0003), plus their indexes, and PostgreSQL's BM25 term statistics (0004). Schema
# comparisons (autogenerate, tests/db/test_schema.py) leave them out.
MIGRATION_ONLY_TABLE_PREFIX = "papers_fts"
MIGRATION_ONLY_TABLES = frozenset({"search_term_stats", "search_corpus_stats"})
MIGRATION_ONLY_COLUMNS = frozenset({("papers", "search_document"), ("paper_embeddings", "embedding")})
MIGRATION_ONLY_INDEXES = frozenset({"ix_papers_search_document", "ix_papers_title_lower", "ix_paper_embeddings_hnsw"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object`` hook: False for the search structures above."""
    if type_ == "table":
        return not (name or "").startswith(MIGRATION_ONLY_TABLE_PREFIX) and name not in MIGRATION_ONLY_TABLES
    if type_ == "column":
        return (obj.table.name, name) not in MIGRATION_ONLY_COLUMNS
    if type_ == "index":
        return name not in MIGRATION_ONLY_INDEXES
    return True
