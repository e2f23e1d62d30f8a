"""The author names close to a query, found without comparing the query with every name.

``Lexicon.author`` wants the first name, in the catalog's order, at the smallest Damerau-
Levenshtein distance from the query, if that distance is at most one or two edits. Computing the
distance to each of the catalog's names (41,000 at 10k papers) cost 3 to 40 ms for every query of
two to five words, which has a name's shape ("video generation"), whether or not it is a name.

``NameIndex`` first keeps only the names that *can* be that close, by two cheap tests that no
closer name fails, and computes the distance to those only, in the catalog's order; so the
answer is exactly the scan's (``tests/search/test_name_index.py`` compares them):

- length: every edit changes the length by at most one, so ``|len(a) - len(b)| <= edits``;
- shared letter pairs (the q-gram lemma, Ukkonen 1992): ``a`` has ``len(a) - 1`` pairs of adjacent
  characters (counted with repeats), and one Levenshtein edit breaks at most two of them; a
  Damerau-Levenshtein edit (a transposition too) is at most two Levenshtein edits. So strings
  within ``edits`` share at least ``max(len(a), len(b)) - 1 - 4 * edits`` pairs.

Pairs are counted through an inverted index: each name's pairs, the k-th repeat of a pair a key
of its own (so that a count is the multiset intersection), each key listing its names.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

_SHIFT = np.uint64(21)  # a code point fits in 21 bits; a key is (first, second, repeat) in 64


def _pair_keys(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(key, name index) of every adjacent character pair of every name, repeats numbered."""
    if not names:
        return np.zeros(0, np.uint64), np.zeros(0, np.int32)
    joined = "\x00".join(names)  # \x00: a separator no pair of one name holds
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    owner = np.cumsum(points == 0, dtype=np.int64)  # the name each character belongs to
    inside = (points[:-1] != 0) & (points[1:] != 0)
    pairs = ((points[:-1] << _SHIFT) | points[1:])[inside]
    owners = owner[:-1][inside]
    order = np.lexsort((pairs, owners))  # by name, then pair: repeats of a pair in a name are adjacent
    pairs, owners = pairs[order], owners[order]
    new_run = np.ones(len(pairs), dtype=bool)
    new_run[1:] = (pairs[1:] != pairs[:-1]) | (owners[1:] != owners[:-1])
    run_start = np.maximum.accumulate(np.where(new_run, np.arange(len(pairs)), 0))
    repeat = (np.arange(len(pairs)) - run_start).astype(np.uint64)
    return (pairs << _SHIFT) | repeat, owners.astype(np.int32)


class NameIndex:
    """Names (folded, as ``Lexicon`` keeps them) and their letter pairs; read-only once built."""

    def __init__(self, names: list[str]):
        self.names = names
        self.lengths = np.fromiter(map(len, names), dtype=np.int64, count=len(names))
        keys, owners = _pair_keys(names)
        order = np.argsort(keys, kind="stable")
        keys, self._owners = keys[order], owners[order]
        self._keys, starts = np.unique(keys, return_index=True)
        self._starts = np.append(starts, len(keys))

    def closest(self, query: str, edits: int) -> str | None:
        """The first name at the smallest Damerau-Levenshtein distance from ``query``, if at most
        ``edits``: ``process.extractOne`` over all names, over the few that can qualify."""
        if not self.names:
            return None
        length = len(query)
        keys, _ = _pair_keys([query])
        at = np.searchsorted(self._keys, keys)
        at = at[(at < len(self._keys)) & (self._keys[np.minimum(at, len(self._keys) - 1)] == keys)]
        least = length - 1 - 4 * edits  # pairs any name within reach shares (more for longer names)
        if not len(at) and least > 0:
            return None
        shared = np.bincount(np.concatenate([self._owners[self._starts[i]:self._starts[i + 1]] for i in at]),
                             minlength=len(self.names)) if len(at) else np.zeros(len(self.names), dtype=np.int64)
        rows = np.flatnonzero(shared >= least) if least > 0 else np.arange(len(self.names))
        lengths = self.lengths[rows]
        rows = rows[(np.abs(lengths - length) <= edits) & (shared[rows] >= np.maximum(lengths, length) - 1 - 4 * edits)]
        candidates = [self.names[i] for i in rows]
        found = process.extractOne(query, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=edits)
        return found[0] if found else None
