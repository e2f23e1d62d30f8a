"""The catalog's own words, with how many papers hold each: what a query's words are checked against.

Two uses: the relevance floor asks whether a query holds any word the catalog knows (a query of
made-up words matches nothing, however near its vector falls), and the spelling corrector
(SymSpell, the field's standard: symmetric-delete look-ups, weighted by document frequency)
replaces a word the catalog does not know, or knows from a paper or two only, by a close word
that many papers hold. Words of English (symspellpy's own word list) are never corrected: a
catalog that rarely says "forum" has not misspelt "form".

Words are read from titles, abstracts and author names of the newest ``LEXICON_PAPERS``
papers: bounded work at any catalog size, and the vocabulary of a field moves with its new papers.
The lexicon is rebuilt when the newest paper id has moved (below ``SMALL_CATALOG`` papers at any
move, above it by ``RELOAD_CHANGE``), in the background once it is large; queries keep the old one
meanwhile.
"""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from importlib.resources import files
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session
from symspellpy import SymSpell, Verbosity

from papertide.search.keyword.terms import STOPWORDS, fold
from papertide.search.name_index import NameIndex
from papertide.search.trace import span

LEXICON_PAPERS = 200_000
SMALL_CATALOG = 50_000
RELOAD_CHANGE = 0.01
MIN_CORRECTED_LENGTH = 4  # shorter words have too many neighbours to correct safely
JUDGING_PAPERS = 1_000  # a smaller catalog has too few words to call a word made up
RARE = 2  # a word in at most this many papers may be a typo of a common one
DOMINANCE = 10  # ... when the replacement is in at least this many times more papers
MIN_CORRECTION_PAPERS = 20  # and in at least this many: a made-up word is one letter from many rare ones
LONG_WORD = 8  # words up to this long are corrected one edit away (Damerau: a swap is one), longer two
LONG_NAME = 12
INFLECTIONS = frozenset({"s", "es", "d", "ed", "ing", "er", "ers", "ly"})
_WORD = re.compile(r"[^\W\d_]+|\d+")
_BUILD_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="papertide-lexicon")


@cache
def english_words() -> frozenset[str]:
    """The 82,765 English words of symspellpy's own frequency list: a word of English that few
    papers use ("forum", "receiver") is rare, not misspelt."""
    listing = files("symspellpy").joinpath("frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in listing.splitlines() if line)


def words_of(value: str) -> list[str]:
    """Lower-case words without diacritics (as the keyword index folds them); numbers apart."""
    return _WORD.findall(fold(value))


@dataclass(frozen=True)
class Correction:
    """A query with its misspelt words replaced: ``text`` to search, ``original`` as typed."""

    text: str
    original: str


class Lexicon:
    """The catalog's words and author names, and a corrector over its words. Read-only once built.

    ``frequencies``: papers holding each word of titles, abstracts and author names (what counts
    as known); ``text_frequencies``: of titles and abstracts only, what the corrector offers (a
    made-up word one letter from a surname is not a misspelt query); ``names``: each author name
    folded (``fold_name``) to its spelling in the catalog.
    """

    def __init__(self, text_frequencies: dict[str, int], names: dict[str, str], papers: int):
        self.text_frequencies, self.names, self.papers = text_frequencies, names, papers
        self.frequencies = dict(text_frequencies)
        for folded in names:
            for word in folded.split():
                self.frequencies[word] = self.frequencies.get(word, 0) + 1
        self._by_sorted = {_sorted_words(folded): name for folded, name in names.items()}
        self._folded = NameIndex(list(names))
        self._speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in text_frequencies.items():
            if count >= MIN_CORRECTION_PAPERS and len(word) >= MIN_CORRECTED_LENGTH - 1 and not word.isdigit():
                self._speller.create_dictionary_entry(word, count)

    @classmethod
    def read(cls, session: Session, papers: int = LEXICON_PAPERS) -> "Lexicon":
        counts: Counter[str] = Counter()
        names: dict[str, str] = {}
        read = 0
        rows = session.execute(text("SELECT title, abstract, authors FROM papers WHERE hidden = :h ORDER BY id DESC LIMIT :n"),
                               {"h": False, "n": papers})
        for title, abstract, authors in rows:
            read += 1
            counts.update(set(words_of(f"{title or ''} {abstract or ''}")))
            for name in author_list(authors):
                names.setdefault(fold_name(name), name)
        return cls(dict(counts), names, read)

    def df(self, word: str) -> int:
        return self.frequencies.get(word, 0)

    def knows_any(self, query: str) -> bool:
        """Whether any meaningful word of ``query`` is in some paper (stopwords do not count);
        always, below ``JUDGING_PAPERS``."""
        if self.papers < JUDGING_PAPERS:
            return True
        words = [w for w in words_of(query) if w not in STOPWORDS] or words_of(query)
        return any(self.df(w) for w in words)

    def author(self, query: str) -> str | None:
        """The catalog's spelling of the author ``query`` names: the same words in any order, or,
        in the catalog's order or reversed ("Bengio Yoshua"), one typing error away (two in names
        over ``LONG_NAME`` letters; Damerau-Levenshtein, by rapidfuzz). An exact name wins."""
        folded = fold_name(query)
        if folded in self.names:
            return self.names[folded]
        if (found := self._by_sorted.get(_sorted_words(folded))) is not None:
            return found
        if any(w in STOPWORDS for w in folded.split()):  # only a name as written may hold one ("Bo An")
            return None
        edits = 1 if len(folded) <= LONG_NAME else 2
        for order in (folded, " ".join(reversed(folded.split()))):
            if (found := self._folded.closest(order, edits)) is not None:
                return self.names[found]
        return None

    def correct(self, query: str) -> Correction | None:
        """``query`` with its unknown and rare words replaced by close, far commoner words of the
        catalog's text, or None: when nothing changes, and when a word is left that the catalog
        does not know (a query with a word nobody can read is not guessed at)."""
        unread = False

        def replace(match: re.Match) -> str:
            nonlocal unread
            folded = words_of(match.group())
            if not folded:
                return match.group()
            word = folded[0]
            better = self._better(word)
            unread = unread or (better is None and not self.df(word) and word not in STOPWORDS)
            return better or match.group()

        corrected = re.sub(r"[^\W\d_]+", replace, query)
        return Correction(corrected, query) if corrected != query and not unread else None

    def _better(self, word: str) -> str | None:
        if len(word) < MIN_CORRECTED_LENGTH or word in STOPWORDS:
            return None
        seen = self.df(word)
        if seen > RARE or word in english_words():
            return None
        distance = 1 if len(word) <= LONG_WORD else 2
        found = self._speller.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        # (a word's own stem or inflection is no correction: the keyword side stems both alike)
        found = [s for s in found if s.count >= DOMINANCE * seen and not _inflection(word, s.term)]
        return max(found, key=lambda s: s.count).term if found else None


def _inflection(a: str, b: str) -> bool:
    """Whether one word is the other with an ending the keyword side's stemmer removes anyway."""
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and long_[len(short):] in INFLECTIONS


def _sorted_words(folded: str) -> str:
    return " ".join(sorted(folded.split()))


def fold_name(name: str) -> str:
    return " ".join(words_of(name))


def author_list(authors) -> list[str]:
    """A paper's author names, from the column as either backend returns it (a list, or JSON text)."""
    if isinstance(authors, str):
        try:
            authors = json.loads(authors or "[]")
        except ValueError:
            return []
    return [str(a) for a in authors] if isinstance(authors, list) else []


class CurrentLexicon:
    """The lexicon of one database, kept current (see the module doc). Thread-safe."""

    def __init__(self):
        self._lexicon: Lexicon | None = None
        self._newest = -1
        self._building = False
        self._lock = threading.Lock()

    def get(self, session: Session) -> Lexicon:
        newest = session.execute(text("SELECT coalesce(max(id), 0) FROM papers")).scalar_one()
        lexicon = self._lexicon
        if lexicon is not None and not self._stale(newest):
            return lexicon
        if lexicon is None:
            with self._lock:
                if self._lexicon is None:
                    with span("lexicon.build"):
                        self._lexicon, self._newest = Lexicon.read(session), newest
                return self._lexicon
        if newest < SMALL_CATALOG:
            with span("lexicon.build"):
                self._lexicon, self._newest = Lexicon.read(session), newest
        else:
            self._rebuild_later(session, newest)
        return self._lexicon

    def _stale(self, newest: int) -> bool:
        moved = abs(newest - self._newest)
        return moved > 0 and (newest < SMALL_CATALOG or moved > RELOAD_CHANGE * max(self._newest, 1))

    def _rebuild_later(self, session: Session, newest: int) -> None:
        with self._lock:
            if self._building:
                return
            self._building = True
        bind = session.get_bind()

        def build() -> None:
            try:
                with Session(bind) as own:
                    self._lexicon, self._newest = Lexicon.read(own), newest
            finally:
                self._building = False

        _BUILD_POOL.submit(build)
