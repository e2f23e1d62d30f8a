"""Whole numbers from URLs and forms: ASCII digits only, within bounds.

Pydantic reads ``" 12 "``, ``"1_000"`` and ``"12.0"`` as 12, and Python's ``str.isdigit`` is true
for ``"²"`` (which ``int`` then refuses), so neither is a check of its own. A number the database
cannot hold (``9223372036854775808`` for a comment id) failed as a 500 in the driver. Everything
here answers a 4xx before a query is made.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Form, Query
from pydantic import BeforeValidator

from papertide.orm import MAX_ID

MAX_PAGE = 100_000
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


def _ascii_digits(value: object) -> object:
    if isinstance(value, str) and not _WHOLE_NUMBER.fullmatch(value):
        raise ValueError("a whole number in ASCII digits (0-9) is expected")
    return value


AsciiDigits = BeforeValidator(_ascii_digits)

# Query parameters and form fields used across pages, the API and actions.
PageNumber = Annotated[int, AsciiDigits, Query(ge=0, le=MAX_PAGE, description="page, from 0")]
ParentId = Annotated[int | None, AsciiDigits, Form(ge=1, le=MAX_ID)]


def bounded(low: int, high: int, description: str | None = None):
    """A query parameter that is a whole number from ``low`` to ``high``, in ASCII digits."""
    return Annotated[int, AsciiDigits, Query(ge=low, le=high, description=description)]
