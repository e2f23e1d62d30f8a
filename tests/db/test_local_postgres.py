"""The tests' PostgreSQL server: real, with pgvector, on loopback, never running as root."""

from pathlib import Path

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.postgres


def test_server_has_pgvector_and_answers_nearest_neighbours_from_an_hnsw_index(postgres_databases):
    database = postgres_databases.create()
    try:
        with database.engine.begin() as connection:
            version = connection.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
            connection.execute(text("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))"))
            connection.execute(text(
                "INSERT INTO items SELECT i, ARRAY[cos(i), sin(i), i % 7]::vector FROM generate_series(1, 500) AS i"
            ))
            connection.execute(text("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)"))
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            query = "SELECT id FROM items ORDER BY embedding <=> '[1, 0, 0]' LIMIT 5"
            plan = "\n".join(connection.scalars(text(f"EXPLAIN {query}")))
            found = connection.scalars(text(query)).all()
            exact = connection.scalars(text(
                "SELECT id FROM (SELECT id, embedding <=> '[1, 0, 0]' AS d FROM items) AS s ORDER BY d LIMIT 5"
            )).all()
    finally:
        postgres_databases.drop(database)
    assert tuple(int(part) for part in version.split(".")) >= (0, 8, 0)
    assert "items_embedding_idx" in plan
    assert found == exact


def test_server_listens_on_loopback_and_runs_unprivileged(postgres_server, postgres_databases):
    """PostgreSQL refuses root; under root (CI) the server runs as an unprivileged account."""
    with postgres_databases.admin.connect() as connection:
        listen = connection.scalar(text("SHOW listen_addresses"))
        backend_pid = connection.scalar(text("SELECT pg_backend_pid()"))
        owner_uid = Path(f"/proc/{backend_pid}").stat().st_uid
    assert listen == "127.0.0.1"
    assert postgres_server.url().startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert owner_uid != 0


def test_full_text_search_folds_unicode_case(postgres_databases):
    with postgres_databases.admin.connect() as connection:
        vector = connection.scalar(text("SELECT to_tsvector('english', 'ÉCOLE Transformers')::text"))
    assert vector == "'transform':2 'école':1"
