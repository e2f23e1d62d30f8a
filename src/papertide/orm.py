"""The declarative base and column types shared by every table."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
from sqlalchemy import JSON, DateTime, LargeBinary, MetaData, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

# The largest id an Integer primary key holds (32-bit on PostgreSQL): a larger one from a URL or a
# form is refused before it reaches the driver, which would fail on it.
MAX_ID = 2**31 - 1


def parse_id(text: str | None) -> int | None:
    """``text`` as a row id if it is one: ASCII digits (``"²".isdigit()`` is true too) from 1 to
    ``MAX_ID``; else None."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None

# Named constraints, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite has no time zones; without this, times would come back naive on one backend and
    aware on the other.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; papertide stores aware UTC times only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))


# JSON values (lists of authors, checkpoint state, ...). On PostgreSQL they are stored as JSONB,
# which unlike JSON can be compared (DISTINCT, GROUP BY, =) and indexed (GIN, ``@>``).
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class Embedding(TypeDecorator):
    """A fixed-length float32 vector: pgvector's ``vector(n)`` on PostgreSQL, raw bytes on SQLite.

    Values are NumPy float32 arrays of shape ``(dimensions,)`` on both backends, so code that
    stores or copies embeddings never asks which one it is on. On PostgreSQL the column can carry
    an HNSW index and be ordered by distance in SQL (``column.op("<=>")(vector)``, cosine);
    on SQLite nearest-neighbour search runs outside the database (a usearch index).
    """

    impl = LargeBinary
    cache_ok = True

    def __init__(self, dimensions: int):
        super().__init__()
        self.dimensions = dimensions

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from pgvector.sqlalchemy import VECTOR  # the `postgres` extra

            return dialect.type_descriptor(VECTOR(self.dimensions))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        array = np.asarray(value, dtype=np.float32)
        if array.shape != (self.dimensions,):
            raise ValueError(f"expected an embedding of {self.dimensions} numbers, got shape {array.shape}")
        return array if dialect.name == "postgresql" else array.tobytes()

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return np.asarray(value, dtype=np.float32)
        return np.frombuffer(value, dtype=np.float32).copy()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
