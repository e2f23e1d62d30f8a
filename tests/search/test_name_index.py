"""``NameIndex.closest`` is ``process.extractOne`` over every name, made cheap: same answer always
(the first of the closest names, in the catalog's order), on names with repeated letters, non-Latin
scripts, one- and two-edit typos (transpositions too) and queries no name is near."""

from __future__ import annotations

import random
import string

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from papertide.search.name_index import NameIndex


def _scan(query: str, names: list[str], edits: int) -> str | None:
    found = process.extractOne(query, names, scorer=DamerauLevenshtein.distance, score_cutoff=edits)
    return found[0] if found else None


def _typo(name: str, rng: random.Random) -> str:
    at = rng.randrange(len(name))
    kind = rng.choice("dist")
    if kind == "d":
        return name[:at] + name[at + 1:]
    if kind == "i":
        return name[:at] + rng.choice(string.ascii_lowercase) + name[at:]
    if kind == "s":
        return name[:at] + rng.choice(string.ascii_lowercase) + name[at + 1:]
    return name[:at] + name[at + 1:at + 2] + name[at:at + 1] + name[at + 2:] if at + 1 < len(name) else name


def test_closest_is_the_full_scan_answer():
    rng = random.Random(3)
    syllables = ["an", "li", "wei", "zh", "ang", "ma", "rie", "o", "aa", "ss", "ki", "yo", "shu", "ben", "gio"]
    names = sorted({" ".join("".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(2, 3)))
                    for _ in range(3000)}, key=lambda _: rng.random())
    names += ["aaaa aaaa", "aaa aaaaa", "bo an", "王 小明", "王 小朋", "josé garcía", "o o"]
    index = NameIndex(names)
    queries = [_typo(_typo(rng.choice(names), rng), rng) if rng.random() < 0.3 else _typo(rng.choice(names), rng)
               for _ in range(1500)]
    queries += ["aaaa aaab", "aaaaaaaa", "王 小", "王 小明明", "jose garcia", "oo", "o", "", "video generation",
                "reinforcement learning"] + names[:50]
    for query in queries:
        for edits in (1, 2):
            assert index.closest(query, edits) == _scan(query, names, edits), (query, edits)


def test_no_names():
    assert NameIndex([]).closest("yoshua bengio", 2) is None
