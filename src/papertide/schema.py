"""Every table papertide has, gathered for migrations and tests."""

from papertide.catalog import models as _catalog  # noqa: F401
from papertide.community import models as _community  # noqa: F401
from papertide.digest import models as _digest  # noqa: F401
from papertide.search import models as _search  # noqa: F401
from papertide.orm import Base

metadata = Base.metadata

# Tables that migrations create with raw SQL and the ORM never maps: the SQLite FTS5 keyword index
# (``papers_fts`` and its shadow tables). Autogenerate and the schema test leave them alone.
UNMANAGED_TABLE_PREFIXES = ("papers_fts",)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter: compare everything but the unmanaged tables."""
    return not (type_ == "table" and name.startswith(UNMANAGED_TABLE_PREFIXES))
