"""Column types and statements that behave the same on SQLite and PostgreSQL."""

import numpy as np
import pytest
from sqlalchemy import Column, Float, Integer, MetaData, Table, func, select

from papertide.community.models import User, Vote
from papertide.catalog.models import Paper
from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.db import dialect_insert, is_postgres
from papertide.orm import Embedding


def embeddings_table() -> Table:
    return Table("test_embeddings", MetaData(), Column("id", Integer, primary_key=True), Column("vector", Embedding(4)))


def test_embeddings_round_trip_as_float32_arrays(database):
    table = embeddings_table()
    table.metadata.create_all(database.engine)
    stored = np.array([0.25, -1.5, 3.0, 1e-8], dtype=np.float32)
    with database.engine.begin() as connection:
        connection.execute(table.insert(), [{"id": 1, "vector": stored}, {"id": 2, "vector": [1, 0, 0, 0]}, {"id": 3, "vector": None}])
        rows = dict(connection.execute(select(table.c.id, table.c.vector).order_by(table.c.id)).all())
    assert rows[1].dtype == np.float32 and np.array_equal(rows[1], stored)
    assert np.array_equal(rows[2], np.array([1, 0, 0, 0], dtype=np.float32))
    assert rows[3] is None


def test_an_embedding_of_the_wrong_length_is_refused(database):
    table = embeddings_table()
    table.metadata.create_all(database.engine)
    with pytest.raises(Exception, match="expected an embedding of 4 numbers"):
        with database.engine.begin() as connection:
            connection.execute(table.insert(), [{"id": 1, "vector": [1.0, 2.0]}])


@pytest.mark.postgres
def test_on_postgres_embeddings_are_pgvector_columns_ordered_by_distance_in_sql(make_database):
    database = make_database("postgres")
    table = embeddings_table()
    table.metadata.create_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(table.insert(), [{"id": i, "vector": [np.cos(i), np.sin(i), 0, 0]} for i in range(1, 50)])
        column_type = connection.exec_driver_sql(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'test_embeddings'::regclass AND attname = 'vector'"
        ).scalar()
        query = np.array([1, 0, 0, 0], dtype=np.float32)
        distance = table.c.vector.op("<=>", return_type=Float)(query)
        nearest = connection.execute(select(table.c.id, distance).order_by(distance).limit(3)).all()
    assert column_type == "vector(4)"
    assert [row.id for row in nearest] == [44, 25, 19]  # cos(i) closest to 1: i near multiples of 2*pi
    assert nearest[0][1] == pytest.approx(1 - np.cos(44 - 14 * np.pi), abs=1e-5)


def test_insert_on_conflict_do_nothing_is_one_statement_on_both_backends(database):
    with database.session() as session:
        upsert_papers(session, [PaperRecord.model_validate({"arxiv_id": "2405.00001", "title": "t"})])
        user = User(username="u", password_hash="x")
        session.add(user)
        session.flush()
        paper_id = session.scalar(select(Paper.id))
        outcomes = []
        for _ in range(3):
            statement = (
                dialect_insert(session, Vote.__table__)
                .values(user_id=user.id, paper_id=paper_id)
                .on_conflict_do_nothing(index_elements=["user_id", "paper_id"])
                .returning(Vote.id)
            )
            outcomes.append(session.execute(statement).first() is not None)
        assert outcomes == [True, False, False]
        assert session.scalar(select(func.count()).select_from(Vote)) == 1
        assert is_postgres(session) == (database.engine.dialect.name == "postgresql")
