"""Which arXiv categories a bulk load keeps: exact categories (``cs.CL``) and whole archives
(``cs``, ``cs.*``, ``hep-th``).

A paper is kept when any of its categories matches, so a paper cross-listed to ``cs.CL`` from
``stat.ML`` is in a ``cs.CL`` load. A category's archive is what precedes its first dot
(``cond-mat.mes-hall`` is in ``cond-mat``); an archive name never matches by prefix alone, so
``math`` keeps ``math.AG`` but not ``math-ph``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SPEC = re.compile(r"^(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.(?P<subject>[A-Za-z]+(?:-[A-Za-z]+)?|\*))?$")


class CategorySpecError(ValueError):
    """A category the filter cannot understand (a typo would otherwise silently keep nothing)."""


class CategoryFilter:
    """``CategoryFilter(["cs.CL", "cs.LG"])``; ``matches("stat.ML cs.LG")`` is True."""

    def __init__(self, specs: Iterable[str]):
        self.exact: set[str] = set()
        self.archives: set[str] = set()
        for raw in specs:
            spec = raw.strip()
            if not spec:
                continue
            match = _SPEC.match(spec)
            if not match:
                raise CategorySpecError(f"not an arXiv category or archive: {spec[:60]!r} (e.g. cs.CL, cs, cs.*, hep-th)")
            subject = match.group("subject")
            if subject is None or subject == "*":
                self.archives.add(match.group("archive"))
            else:
                self.exact.add(spec)
        if not self.exact and not self.archives:
            raise CategorySpecError("no categories given")

    @classmethod
    def parse(cls, text: str | None) -> "CategoryFilter | None":
        """From a comma-separated option value; None (keep everything) for no value."""
        if text is None:
            return None
        return cls(text.split(","))

    def matches(self, categories: str | list[str]) -> bool:
        """Whether a paper with ``categories`` (the snapshot's space-separated string, or a list) is kept."""
        names = categories.split() if isinstance(categories, str) else categories
        for name in names:
            if name in self.exact or name.partition(".")[0] in self.archives:
                return True
        return False

    def describe(self) -> str:
        """A stable, sorted spelling: the same filter always names the same checkpoint."""
        return ",".join(sorted(self.exact) + sorted(f"{archive}.*" for archive in self.archives))
