"""SQLite FTS5 as the keyword side uses it, each fact defined once.

- The table ``papers_fts`` (migration 0002, kept equal to ``papers`` by triggers) and BM25 as
  FTS5's ``bm25()`` computes it: ``K1``, ``B`` and ``idf``. The PostgreSQL path and the impact
  index score the same way, with these.
- The records FTS5 keeps beside the index, in SQLite varints: the averages record (papers and
  tokens, ``read_corpus``) and each paper's column lengths (``column_lengths``).
- ``fts5_expression``: a query's phrases as a MATCH string whose ``bm25()`` is pair-weighted.
- ``Tokenizer``: words to index tokens with SQLite's own tokenizer, so Python counts as FTS5 does.
- ``TermStatistics``: document frequencies of the index's frequent terms (one fts5vocab scan).
- ``rescore``: BM25 terms of some phrases computed from papers' text, as ``bm25()`` would.
"""

from __future__ import annotations

import bisect
import math
import re
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from papertide.search.keyword.terms import COLUMN_WEIGHTS, PAIR_WEIGHT, fold, phrase_weight
from papertide.search.trace import span

FTS_TABLE = "papers_fts"
K1, B = 1.2, 0.75  # FTS5's bm25() constants
MIN_IDF = 1e-6  # FTS5 floors idf here, so a word in more than half the papers still counts a little
# FTS5's bm25() has no per-phrase weight, but it sums over the expression's phrases, so a word
# listed n times counts n times: words x n, pairs x 1, all divided by n. Needs PAIR_WEIGHT = 1/n.
WORD_REPEATS = round(1 / PAIR_WEIGHT)
assert abs(WORD_REPEATS * PAIR_WEIGHT - 1) < 1e-12, "PAIR_WEIGHT must be 1/n for the FTS5 expression"
FREQUENT_FLOOR = 32  # terms in fewer papers are not kept in the frequency table (their df < this)
RELOAD_CHANGE = 0.01  # reload the table when the paper count moved by more than this fraction
SMALL_CORPUS = 50_000  # ... or at any change below this size (the reload is cheap there)
PAIR_SAMPLE = 20_000  # postings of its rarer word read to estimate a common pair's df (cached)
MAX_CACHED_WORDS = 200_000
TABLE_SQL = f"SELECT sql FROM sqlite_master WHERE name = '{FTS_TABLE}'"
AVERAGES_SQL = f"SELECT block FROM {FTS_TABLE}_data WHERE id = 1"
_WORD = re.compile(r"[^\W_]+")  # a run of what FTS5's unicode61 tokenizer keeps (letters, digits)


def idf(documents_with_term: float, documents: int) -> float:
    """BM25's idf as FTS5 computes it: ln((N - n + 0.5) / (n + 0.5)), at least ``MIN_IDF``."""
    documents = max(documents, documents_with_term)
    return max(math.log((documents - documents_with_term + 0.5) / (documents_with_term + 0.5)), MIN_IDF)


def varints(blob: bytes) -> list[int]:
    """SQLite varints (FTS5's docsize and averages records)."""
    values, i = [], 0
    while i < len(blob):
        value = 0
        for j in range(9):
            byte = blob[i]
            i += 1
            if j == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        values.append(value)
    return values


class Corpus(NamedTuple):
    """What BM25 needs of the whole index: papers indexed, tokens in all their columns."""

    documents: int
    tokens: int

    @property
    def average_length(self) -> float:
        return self.tokens / self.documents if self.documents else 1.0


def decode_averages(block: bytes | None) -> Corpus:
    """The averages record (``AVERAGES_SQL``): the paper count, then each column's tokens."""
    if not block:
        return Corpus(0, 0)
    values = varints(block)
    return Corpus(values[0], sum(values[1:]))


def read_corpus(session: Session) -> Corpus:
    row = session.execute(text(AVERAGES_SQL)).first()
    return decode_averages(row[0] if row else None)


def column_lengths(record: bytes, width: int) -> list[int]:
    """A paper's tokens per column, from its docsize record (trailing empty columns are left out)."""
    values = varints(record)
    return values + [0] * (width - len(values))


def tokenize_options(table_sql: str) -> str:
    """The ``tokenize=`` argument of the table's ``CREATE`` (so tokens match the index)."""
    match = re.search(r"tokenize\s*=\s*('(?:[^']|'')*'|\"[^\"]*\")", table_sql)
    return match.group(1) if match else "'unicode61'"


def word_repeats(phrases: list[str]) -> int:
    """How often ``fts5_expression`` lists each word of ``phrases``: ``WORD_REPEATS``, but once
    when there is a single phrase. With no pair to weigh it against, the repeats change nothing
    but the cost (FTS5 reads the postings of each listed phrase, repeats too): ``bm25()`` of a word
    listed n times is n times its one term, exactly (a sum of equal doubles), divided by n again."""
    return WORD_REPEATS if len(phrases) > 1 else 1


def fts5_expression(phrases: list[str]) -> str:
    """The OR of the quoted ``phrases`` for ``MATCH``, each word repeated ``word_repeats`` times:
    ``bm25()`` of it divided by that is the pair-weighted BM25. Phrases are ``\\w+``
    words and spaces, so quoting escapes everything."""
    repeats = word_repeats(phrases)
    return " OR ".join(" OR ".join([f'"{p}"'] * (1 if " " in p else repeats)) for p in phrases)


def match_any(phrases: list[str]) -> str:
    """The plain OR of the quoted ``phrases``, for matching only (no score)."""
    return " OR ".join(f'"{p}"' for p in phrases)


@dataclass(frozen=True)
class Phrase:
    """One quoted query phrase: its text as sent to FTS5 and the tokens the index holds for it."""

    text: str
    tokens: tuple[str, ...]


class Tokenizer:
    """Words to index tokens with SQLite's own FTS5 tokenizer (same library, same options), on
    a private in-memory database; results are cached, so a warm query never calls it."""

    def __init__(self, options: str):
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(f"CREATE VIRTUAL TABLE words USING fts5(word, tokenize={options})")
        self._db.execute("CREATE VIRTUAL TABLE word_tokens USING fts5vocab(words, 'instance')")
        self._cache: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def tokens(self, words) -> dict[str, tuple[str, ...]]:
        with self._lock:
            missing = [w for w in set(words) if w not in self._cache]
            if missing:
                if len(self._cache) + len(missing) > MAX_CACHED_WORDS:
                    self._cache.clear()
                self._db.execute("DELETE FROM words")
                self._db.executemany("INSERT INTO words(rowid, word) VALUES (?, ?)", enumerate(missing, 1))
                found = defaultdict(list)
                for doc, offset, term in self._db.execute("SELECT doc, offset, term FROM word_tokens"):
                    found[doc].append((offset, term))
                self._db.commit()
                for i, word in enumerate(missing, 1):
                    self._cache[word] = tuple(t for _, t in sorted(found.get(i, ())))
            return {w: self._cache[w] for w in words}

    def token_of(self, word: str) -> tuple[str, ...]:
        found = self._cache.get(word)
        return found if found is not None else self.tokens([word])[word]

    def phrase_tokens(self, phrase: str) -> tuple[str, ...]:
        parts = phrase.split()
        tokens = self.tokens(parts)
        return tuple(t for part in parts for t in tokens[part])



@dataclass
class TermStatistics:
    """Document frequencies of the frequent terms of one database's FTS5 index.

    Read with one scan of fts5vocab (every posting once: ~N x distinct words per paper) when
    first needed, and again when the paper count has moved by more than ``RELOAD_CHANGE``.
    Terms in fewer than ``FREQUENT_FLOOR`` papers are left out: they are rare, which is all the
    budget needs to know, and FTS5 computes their idf itself.
    """

    tokenizer: Tokenizer
    frequencies: dict[str, int] = field(default_factory=dict)
    rows_at_load: int = -1
    phrase_df: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def read(cls, session: Session, corpus: Corpus | None = None) -> "TermStatistics":
        """The statistics of the database behind ``session`` (``refresh`` them for later queries)."""
        stats = cls(Tokenizer(tokenize_options(session.execute(text(TABLE_SQL)).scalar_one())))
        stats.refresh(session, corpus or read_corpus(session))
        return stats

    def refresh(self, session: Session, corpus: Corpus) -> None:
        rows = corpus.documents
        moved = abs(rows - self.rows_at_load)
        if self.rows_at_load >= 0 and (moved == 0 or (rows >= SMALL_CORPUS and moved <= RELOAD_CHANGE * self.rows_at_load)):
            return
        with self.lock:
            if self.rows_at_load == rows:
                return
            session.execute(text(f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{FTS_TABLE}_terms USING fts5vocab(main, {FTS_TABLE}, 'row')"))
            self.frequencies = dict(
                session.execute(text(f"SELECT term, doc FROM temp.{FTS_TABLE}_terms WHERE doc >= :floor"), {"floor": FREQUENT_FLOOR}).all()
            )
            self.phrase_df = {}
            self.rows_at_load = rows

    def phrase(self, text_: str) -> Phrase:
        return Phrase(text_, self.tokenizer.phrase_tokens(text_))

    def df_bound(self, session, phrase: Phrase) -> int:
        """Papers containing ``phrase``, or an upper bound of it (a pair: its rarer word's count).
        Rare phrases (under ``FREQUENT_FLOOR``) are counted: cheap, and often zero."""
        if not phrase.tokens:
            return 0
        bound = min(self.frequencies.get(t, FREQUENT_FLOOR - 1) for t in phrase.tokens)
        return self.df(session, phrase) if bound < FREQUENT_FLOOR else bound

    def df(self, session, phrase: Phrase) -> float:
        """Document frequency: the table's for one frequent token; else counted (cached). A pair
        of frequent words would cost all postings of its rarer word to count, so it is counted
        over the newest papers holding about ``PAIR_SAMPLE`` of them and scaled up."""
        if len(phrase.tokens) == 1 and phrase.tokens[0] in self.frequencies:
            return self.frequencies[phrase.tokens[0]]
        cached = self.phrase_df.get(phrase.text)
        if cached is None:
            rarer = min(self.frequencies.get(t, 0) for t in phrase.tokens)
            fraction = min(1.0, PAIR_SAMPLE / rarer) if rarer else 1.0
            newest = session.execute(text("SELECT max(id) FROM papers")).scalar() or 0
            count = session.execute(
                text(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :p AND rowid > :cut"),
                {"p": f'"{phrase.text}"', "cut": int(newest * (1 - fraction)) if fraction < 1 else -1},
            ).scalar_one()
            cached = count if fraction == 1.0 else (count + 0.5) / fraction  # none seen: about half a sample's worth
            if len(self.phrase_df) > MAX_CACHED_WORDS:
                self.phrase_df.clear()
            self.phrase_df[phrase.text] = cached
        return cached


@dataclass(frozen=True)
class Fts5Query:
    """One query as the SQLite paths past the exact one take it: its phrases with their index
    tokens, and the statistics and corpus totals read for it."""

    phrases: list[Phrase]
    stats: TermStatistics
    corpus: Corpus
    weights: tuple[float, ...] = COLUMN_WEIGHTS


def rescore(session: Session, query: Fts5Query, ids: list[int], phrases: list[Phrase]) -> dict[int, float]:
    """Sum over ``phrases`` of their BM25 terms, for each paper of ``ids``, computed from the
    papers' text (tokens from SQLite's tokenizer, lengths from FTS5's docsize) exactly as
    ``bm25()`` would, each phrase weighted by ``phrase_weight``."""
    with span("keyword.rescore"):
        return _rescore(session, query, ids, phrases)


def _rescore(session: Session, query: Fts5Query, ids: list[int], phrases: list[Phrase]) -> dict[int, float]:
    documents, average = query.corpus.documents, query.corpus.average_length
    weight_of = {ph.text: idf(query.stats.df(session, ph), documents) * phrase_weight(ph.text) for ph in phrases}
    texts = session.execute(
        text("SELECT id, title, abstract, authors FROM papers WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)), {"ids": ids}
    ).all()
    sizes = session.execute(
        text(f"SELECT id, sz FROM {FTS_TABLE}_docsize WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)), {"ids": ids}
    ).all()
    length = {int(i): sum(varints(sz)) for i, sz in sizes}
    counts = phrase_counts([(int(r[0]), [r[1] or "", r[2] or "", r[3] or ""]) for r in texts], phrases, query.stats.tokenizer)
    scores: dict[int, float] = {}
    for pid, per_phrase in counts.items():
        norm = K1 * (1 - B + B * length.get(pid, average) / average)
        score = 0.0
        for phrase, per_column in per_phrase.items():
            freq = sum(query.weights[c] * n for c, n in per_column.items())
            score += weight_of[phrase] * freq * (K1 + 1) / (freq + norm)
        scores[pid] = score
    return scores


def phrase_counts(docs: list[tuple[int, list[str]]], phrases: list[Phrase], tokenizer: "Tokenizer") -> dict[int, dict[str, dict[int, int]]]:
    """{paper id: {phrase: {column: occurrences}}} of each phrase in each column of each doc,
    with the index's own tokens: a word is found by the prefix its token must start with, then
    confirmed through SQLite's tokenizer (so "models" counts for "model", "modern" does not)."""
    starting = defaultdict(list)  # first token -> phrases that start with it
    for ph in phrases:
        starting[ph.tokens[0]].append(ph)
    prefixes = sorted({_stem_prefix(t) for t in starting}, key=len)
    prefixes = [x for i, x in enumerate(prefixes) if not any(x.startswith(y) for y in prefixes[:i])]
    # Every column of every doc in one string, so that each prefix is one C-level scan;
    # \x00 (never part of a word) separates the columns.
    columns = [fold(value) for _, values in docs for value in values]
    width = len(docs[0][1]) if docs else 1
    text_all = "\x00".join(columns)
    ends, at_end = [], -1
    for column in columns:
        at_end += len(column) + 1
        ends.append(at_end)
    hits = []  # (word start, word end, word)
    words: set[str] = set()
    for prefix in prefixes:
        at = text_all.find(prefix)
        while at != -1:
            if at == 0 or not text_all[at - 1].isalnum():
                word = _WORD.match(text_all, at)
                hits.append((at, word.end(), word.group()))
                words.add(word.group())
                at = text_all.find(prefix, word.end())
            else:
                at = text_all.find(prefix, at + 1)
    tokens = tokenizer.tokens(words)
    counts: dict[int, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for at, end, word in hits:
        first = tokens[word]
        if not first or first[0] not in starting:
            continue
        cell = bisect.bisect_right(ends, at)
        pid, column = docs[cell // width][0], cell % width
        sequence = list(first)
        for ph in starting[first[0]]:
            while len(sequence) < len(ph.tokens):  # the next words of the same column
                following = _WORD.search(text_all, end)
                if following is None or following.start() >= ends[cell]:
                    break
                sequence.extend(tokenizer.token_of(following.group()))
                end = following.end()
            # (a word of several tokens could also start a phrase inside it; FTS5 would count
            # that one, this does not: such words are rare)
            if tuple(sequence[: len(ph.tokens)]) == ph.tokens:
                counts[pid][ph.text][column] += 1
    return counts


def _stem_prefix(token: str) -> str:
    """What every word with this porter token starts with: the token, but for a final e or i
    that the stemmer may have added or changed (hoping -> hope, study -> studi) and the one
    suffix it rewrites inside (capabilities -> capabl)."""
    if len(token) > 1 and (token[-1] in "ei" or token.endswith("bl")):
        return token[:-1]
    return token
