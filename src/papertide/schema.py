"""Every table papertide has, gathered for migrations and tests."""

from papertide.catalog import models as _catalog  # noqa: F401
from papertide.community import models as _community  # noqa: F401
from papertide.digest import models as _digest  # noqa: F401
from papertide.search import models as _search  # noqa: F401
from papertide.orm import Base

metadata = Base.metadata
