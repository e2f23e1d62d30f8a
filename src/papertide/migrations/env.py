"""Alembic environment: runs migrations on the connection papertide hands it."""

from alembic import context
from sqlalchemy import create_engine

from papertide.schema import metadata
from papertide.search.models import is_keyword_index_table

config = context.config
target_metadata = metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as conn:
        _run(conn)


def _include_name(name, type_, parent_names) -> bool:
    """Autogenerate must not propose dropping the FTS5 keyword index (made by migration 0002)."""
    return not (type_ == "table" and is_keyword_index_table(name))


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
