"""BM25 on PostgreSQL: how many papers hold each lexeme, and the corpus totals.

Revision ID: 0004_pg_term_stats
Revises: 0003_search_postgres
Create Date: 2026-11-24 06:20:00

BM25's idf needs document frequencies, which a GIN index does not expose cheaply. These two
tables hold them, computed by ``ts_stat`` over ``papers.search_document`` and refreshed by
``search/term_stats.py`` (after ``papertide index``, and lazily when papers were added since):

* ``search_term_stats``: lexeme -> number of papers that contain it;
* ``search_corpus_stats``: one row: papers counted, their (paper, lexeme) entries (the sum of
  the papers' lengths, for the average), the highest paper id seen (new papers make the
  statistics stale), when and how fast they were computed.

A no-op on SQLite, where FTS5's ``bm25()`` keeps its own statistics. Not ORM tables:
``papertide.schema.include_object`` keeps them out of schema comparisons.
"""

from alembic import op


revision = "0004_pg_term_stats"
down_revision = "0003_search_postgres"
branch_labels = None
depends_on = None

POSTGRES_UPGRADE = [
    """CREATE TABLE search_term_stats (
        lexeme text PRIMARY KEY,
        documents integer NOT NULL
    )""",
    """CREATE TABLE search_corpus_stats (
        id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        documents bigint NOT NULL,
        entries bigint NOT NULL,
        max_paper_id bigint NOT NULL,
        refreshed_at timestamptz NOT NULL,
        refresh_seconds double precision NOT NULL
    )""",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS search_corpus_stats")
        op.execute("DROP TABLE IF EXISTS search_term_stats")
