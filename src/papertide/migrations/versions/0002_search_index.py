"""Search: paper embeddings, and the FTS5 keyword index kept in sync by triggers.

Revision ID: 0002_search
Revises: 0001
Create Date: 2026-11-24 03:45:00

The keyword index is SQLite-only (FTS5 with the porter stemmer, external content: the text
lives once, in ``papers``). On PostgreSQL this migration only creates the embeddings table;
keyword search there is not implemented yet.
"""

from alembic import op
import sqlalchemy as sa


revision = "0002_search"
down_revision = "0001"
branch_labels = None
depends_on = None

FTS_COLUMNS = "title, abstract, authors"
SQLITE_UPGRADE = [
    f"""CREATE VIRTUAL TABLE papers_fts USING fts5(
        {FTS_COLUMNS}, content='papers', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, new.title, new.abstract, new.authors);
    END""",
    f"""CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', old.id, old.title, old.abstract, old.authors);
    END""",
    f"""CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, {FTS_COLUMNS}) VALUES ('delete', old.id, old.title, old.abstract, old.authors);
        INSERT INTO papers_fts(rowid, {FTS_COLUMNS}) VALUES (new.id, new.title, new.abstract, new.authors);
    END""",
    "INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')",
    # An exact title typed into the search box goes straight to its paper: one index lookup.
    "CREATE INDEX ix_papers_title_lower ON papers (lower(title))",
]


def upgrade() -> None:
    op.create_table(
        "paper_embeddings",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_paper_embeddings_paper_id_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", name=op.f("pk_paper_embeddings")),
    )
    op.create_index(op.f("ix_paper_embeddings_model"), "paper_embeddings", ["model"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP INDEX IF EXISTS ix_papers_title_lower")
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS papers_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS papers_fts")
    op.drop_index(op.f("ix_paper_embeddings_model"), table_name="paper_embeddings")
    op.drop_table("paper_embeddings")
