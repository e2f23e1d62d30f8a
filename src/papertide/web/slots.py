"""Slots: the places where a signed-in reader's page differs from every other reader's.

A page such as the daily list is the same for every signed-in reader but for a few values: their
name in the top bar, their CSRF token in each form, which of the papers shown they upvoted, their
collections on a paper page. ``web.reader_pages`` renders such a page once for all readers, with a
*stand-in* reader whose values are slots, and fills the slots per request.

While the stand-in's page renders, every slot becomes a marker in the HTML, an HTML comment with
a random nonce (``<!--3f9c…:7-->``). No text of a paper, comment or reader can forge one: the
templates escape every ``<`` they did not write, and the nonce is new for each render. The
rendered page is then cut at its markers into a ``SharedPage``: literal parts and, between them,
the slots, each naming what fills it:

* ``text``: a value of the reader's (``username``, ``csrf``), the same wherever it appears;
* ``choice``: one of two pre-rendered texts, by whether the reader's set of that kind holds a key
  (``voted``: which papers they upvoted);
* ``fragment``: markup rendered for the reader (``collect_menu``: their collections, for a paper).

Templates use ``choose`` and ``holds`` (``web.rendering`` registers them), which give plain
answers for a real reader, so a page renders the same way for either.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from markupsafe import Markup, escape


class Slot(NamedTuple):
    kind: str  # "text" | "choice" | "fragment"
    name: str  # what fills it: "username", "csrf", "voted", "collect_menu"
    key: Hashable = None  # which paper (choices and fragments)
    options: tuple[str, str] = ("", "")  # a choice's texts: (when held, when not)


@dataclass
class Recorder:
    """The slots of one render, in the order their markers were written."""

    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    slots: list[Slot] = field(default_factory=list)

    def mark(self, slot: Slot) -> Markup:
        self.slots.append(slot)
        return Markup(f"<!--{self.nonce}:{len(self.slots) - 1}-->")

    def text(self, name: str) -> Markup:
        return self.mark(Slot("text", name))

    def pending(self, name: str) -> PendingSet:
        return PendingSet(self, name)

    def fragment(self, name: str, key: Hashable) -> Markup:
        return self.mark(Slot("fragment", name, key))

    def cut(self, html: str) -> SharedPage:
        """The rendered page as literal parts around its slots."""
        pieces = re.split(f"<!--{self.nonce}:(\\d+)-->", html)
        return SharedPage(tuple(pieces[0::2]), tuple(self.slots[int(i)] for i in pieces[1::2]))


@dataclass(frozen=True)
class PendingSet:
    """A reader's set (the papers they upvoted) that only the request that fills the page knows."""

    recorder: Recorder
    name: str

    def holds(self, key: Hashable) -> PendingChoice:
        return PendingChoice(self.recorder, self.name, key)


@dataclass(frozen=True)
class PendingChoice:
    """Whether a reader's set holds ``key``: yes or no, per reader."""

    recorder: Recorder
    name: str
    key: Hashable


def holds(container, key: Hashable):
    """``key in container`` for a real reader's set; a pending answer for the stand-in's."""
    if isinstance(container, PendingSet):
        return container.holds(key)
    return key in (container or ())


def choose(flag, yes: str, no: str) -> Markup:
    """``yes`` or ``no`` by ``flag`` (escaped, as ``{{ }}`` would); a choice slot when the flag
    is only known per reader."""
    if isinstance(flag, PendingChoice):
        return flag.recorder.mark(Slot("choice", flag.name, flag.key, (str(escape(yes)), str(escape(no)))))
    return escape(yes if flag else no)


@dataclass(frozen=True)
class ReaderValues:
    """What fills one reader's page: texts by name, sets by name, fragments by (name, key)."""

    texts: Mapping[str, str]
    sets: Mapping[str, set]
    fragments: Mapping[tuple[str, Hashable], str]


@dataclass(frozen=True)
class SharedPage:
    """A page cut at its slots: ``parts`` has one more item than ``slots``."""

    parts: tuple[str, ...]
    slots: tuple[Slot, ...]

    @cached_property
    def _keys(self) -> dict[tuple[str, str], list[Hashable]]:
        found: dict[tuple[str, str], dict[Hashable, None]] = {}
        for slot in self.slots:
            found.setdefault((slot.kind, slot.name), {})[slot.key] = None
        return {kind_name: list(keys) for kind_name, keys in found.items()}

    def keys(self, kind: str, name: str) -> list[Hashable]:
        """The keys of the slots of a kind and name (the papers whose votes a reader's page shows)."""
        return self._keys.get((kind, name), [])

    def fill(self, values: ReaderValues) -> str:
        texts = {name: str(escape(text)) for name, text in values.texts.items()}
        out = [self.parts[0]]
        for slot, part in zip(self.slots, self.parts[1:]):
            if slot.kind == "text":
                out.append(texts[slot.name])
            elif slot.kind == "choice":
                out.append(slot.options[0] if slot.key in values.sets[slot.name] else slot.options[1])
            else:
                out.append(values.fragments[(slot.name, slot.key)])
            out.append(part)
        return "".join(out)
