"""How an organisation is recognised again: by the id a source gives it, or by its name.

Hugging Face lists one university under several ids ("zju", "ZhejiangUniversity", ...) and one
id under names that differ in case or punctuation ("Sun Yat-sen University", "Sun Yat-Sen
University"). Both kinds of key go into ``organization_aliases``; ingest (``catalog.upsert``)
and the merge of migration 0008 use these functions, so the two agree on what "the same" means.
"""

from __future__ import annotations

import re
import unicodedata

_NOT_WORD = re.compile(r"[\W_]+")


def id_key(slug: str) -> str:
    """The key of a source's id: ids differing only in case name one organisation."""
    return "id:" + slug.strip().casefold()


def name_key(name: str) -> str | None:
    """The key of a name: case, punctuation and spacing ignored ("Zhejiang university" is
    "Zhejiang University"); None for a name with no letters or digits, which names nothing."""
    words = _NOT_WORD.sub(" ", unicodedata.normalize("NFKC", name).casefold()).split()
    return "name:" + " ".join(words) if words else None


def keys(slug: str, name: str) -> list[str]:
    """Every key an organisation called ``name`` under ``slug`` is found by."""
    return [key for key in (id_key(slug), name_key(name)) if key]


def better_name(current: str, incoming: str) -> str:
    """The name to show of two spellings of one organisation: one written with capitals wins
    over one in lower case only ("university of science and technology of china")."""
    if current.islower() and not incoming.islower() and name_key(current) == name_key(incoming):
        return incoming
    return current
