"""Moving a whole installation from one database to another (``papertide db copy``).

The usual move is up, from the embedded SQLite file to PostgreSQL, but any direction works.
Every table of the schema is copied in foreign-key order, rows in primary-key order (so a reply
comes after the comment it answers), in batches, with a progress bar per table. The source is
read in one snapshot; the target is written in one transaction, so a failed or interrupted copy
leaves the target as it was and can simply be run again. Afterwards PostgreSQL's id sequences
are moved past the copied ids, and the row counts of every table are compared.

Derived search structures (full-text indexes kept by triggers, generated columns) are not
copied: the target's own triggers and generated columns rebuild them as rows arrive.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Table, delete, func, insert, select, text
from tqdm import tqdm

from papertide.db import Database, alembic_config, is_postgres, is_sqlite
from papertide.schema import SEEDED_TABLES, metadata

BATCH_SIZE = 2000


class CopyError(Exception):
    """The copy cannot start or did not verify; nothing was written to the target."""


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


def copy_database(
    source: Database, target: Database, *, force: bool = False, batch_size: int = BATCH_SIZE, progress: bool = True
) -> list[TableCount]:
    """Copy every row of ``source`` into ``target`` and return the verified count of each table.

    ``target`` is migrated to the current schema first. It must hold no rows unless ``force``,
    in which case its rows are deleted (in the same transaction as the copy).
    """
    if source.engine.url == target.engine.url:
        raise CopyError("the source and the target are the same database")
    _require_current_schema(source)
    target.migrate()
    tables = metadata.sorted_tables
    with _snapshot(source) as reading, target.engine.begin() as writing:
        occupied = [table.name for table in tables if table.name not in SEEDED_TABLES and _count(writing, table)]
        if occupied and not force:
            raise CopyError(
                f"the target already holds rows in {', '.join(occupied)}; "
                "copy into an empty database, or pass --force to replace its contents"
            )
        for table in reversed(tables):
            writing.execute(delete(table))
        counts = []
        for table in tables:
            expected = _count(reading, table)
            _copy_table(reading, writing, table, expected, batch_size, progress)
            counts.append(TableCount(table.name, expected, _count(writing, table)))
        wrong = [c for c in counts if not c.matches]
        if wrong:
            details = ", ".join(f"{c.table}: {c.source} read, {c.target} written" for c in wrong)
            raise CopyError(f"row counts differ after the copy ({details}); the target was left unchanged")
        if is_postgres(writing):
            _advance_sequences(writing, tables)
    return counts


def _copy_table(reading: Connection, writing: Connection, table: Table, total: int, batch_size: int, progress: bool) -> None:
    # Generated (computed) columns are the target's to fill.
    columns = [column for column in table.columns if column.computed is None]
    query = select(*columns).order_by(*table.primary_key.columns)
    rows = reading.execution_options(stream_results=True, yield_per=batch_size).execute(query)
    with tqdm(total=total, desc=table.name, unit=" rows", disable=not progress, leave=False) as bar:
        for batch in rows.partitions():
            writing.execute(insert(table), [dict(row._mapping) for row in batch])
            bar.update(len(batch))


def _advance_sequences(connection: Connection, tables: list[Table]) -> None:
    """Make PostgreSQL's next generated id follow the largest copied one."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                         {"table": table.name, "column": column.name})
            if sequence:  # only serial / identity columns have one
                largest = connection.scalar(select(func.max(column)))
                connection.execute(text("SELECT setval(:sequence, :value, :called)"),
                                   {"sequence": sequence, "value": largest or 1, "called": largest is not None})


def _count(connection: Connection, table: Table) -> int:
    return connection.scalar(select(func.count()).select_from(table))


@contextmanager
def _snapshot(database: Database) -> Iterator[Connection]:
    """A read-only connection that sees the source as of one moment, even while the site writes."""
    if is_postgres(database.engine):
        connection = database.engine.connect().execution_options(isolation_level="REPEATABLE READ")
    else:
        connection = database.engine.connect()
    transaction = connection.begin()
    try:
        if is_sqlite(connection):
            connection.exec_driver_sql("BEGIN")  # the sqlite3 module would not open one for reads
        yield connection
    finally:
        transaction.rollback()
        connection.close()


def _require_current_schema(database: Database) -> None:
    head = ScriptDirectory.from_config(alembic_config(database.url)).get_current_head()
    with database.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise CopyError(
            f"the source database is at schema revision {current or 'none'}, this papertide expects {head}; "
            "bring it up to date first with `papertide init` (PAPERTIDE_DATABASE_URL set to the source)"
        )
