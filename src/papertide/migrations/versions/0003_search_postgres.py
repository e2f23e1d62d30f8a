"""Search on PostgreSQL: a weighted ``tsvector`` kept by PostgreSQL itself, with a GIN index.

Revision ID: 0003_search_postgres
Revises: 0002_search
Create Date: 2026-11-24 05:00:00

The PostgreSQL counterpart of 0002's FTS5 index (a no-op on SQLite). ``papers.search_document``
is a STORED generated column, so every insert, update and delete keeps it current with no
trigger and no application code: title (weight A) and abstract (B) through the ``english``
configuration (stemmed, like FTS5's porter tokenizer), author names (C) through ``simple``
(names are not English words). ``ts_rank_cd`` weighs the fields (``search/keyword_postgres.py``).
It is not an ORM column: ``papertide.schema.include_object`` keeps it out of schema comparisons.
"""

from alembic import op


revision = "0003_search_postgres"
down_revision = "0002_search"
branch_labels = None
depends_on = None

POSTGRES_UPGRADE = [
    """ALTER TABLE papers ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(abstract, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(authors, '[]'::jsonb)), 'C')
    ) STORED""",
    "CREATE INDEX ix_papers_search_document ON papers USING gin (search_document)",
    # An exact title typed into the search box goes straight to its paper: one index lookup.
    "CREATE INDEX ix_papers_title_lower ON papers (lower(title))",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_papers_title_lower")
        op.execute("DROP INDEX IF EXISTS ix_papers_search_document")
        op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search_document")
