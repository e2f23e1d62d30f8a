"""BM25 over SQLite FTS5 with a bounded amount of work per query, at any corpus size.

An OR query ranks every paper that contains any query word. At a million papers a common word
("model", "learning") has hundreds of thousands of postings and FTS5 scores and sorts each of them
(about 0.7 us per row, plus a counting pass per phrase for its idf), so a 15-word query took
seconds. From ``EXACT_BELOW_PAPERS`` papers a derived impact index beside the database answers
in a few milliseconds (``impact_search.py``); this module is what runs below that size, and
without that file (not built yet, damaged, or a date/organisation filter its candidates cannot
satisfy). Here a budget of postings bounds the work:

1. Each query phrase (word or adjacent pair) gets its document frequency from a table of the
   index's frequent terms (fts5vocab, read once per index generation, see ``TermStatistics``).
2. Below ``EXACT_BELOW_PAPERS`` papers, or if all phrases together have at most
   ``POSTINGS_BUDGET`` postings, the query is the plain one: a single FTS5 OR query, exact BM25
   (pairs at half a word's weight everywhere here: ``phrase_weight.py``).
3. Otherwise the rarest phrases, up to the budget, find the candidates, and FTS5 ranks them by
   BM25 over those phrases (idf and length normalisation are the whole corpus's, as always).
4. The common phrases' BM25 terms are then added for the best ``RESCORE`` candidates, computed
   here from each candidate's text: tokens from SQLite's own tokenizer, idf from the table,
   document length from FTS5's docsize. BM25 is a sum over phrases, so a rescored candidate's
   score is its full BM25 score; what is approximate is only which papers become candidates.

If even the rarest phrase is over budget ("large language models" on a big corpus), the newest
``POSTINGS_BUDGET`` papers that contain it are the candidates.
"""

from __future__ import annotations

import bisect
import math
import re
import sqlite3
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from papertide.search.keyword.terms import WORD_REPEATS, fts5_expression, phrase_weight

# Postings the candidate query may read (FTS5 scores ~1.5 rows per us). Measured at 100k papers
# (benchmarks/search_backends.py, 93 known-item queries, quiet machine): budget 5,000 -> MRR@10 ~0.65,
# 20,000 -> 0.862 (keyword p50 20 ms), 50,000 -> 0.898 (35 ms), exact 0.920 (167 ms).
POSTINGS_BUDGET = 50_000
# Below this many papers every query is the plain one (exact BM25; ~35 ms CPU at most at 10k), as
# vector search is exact below the same size. With the budget at 10k, known-item Recall@100 fell
# 0.993 -> 0.971 (MRR@10 within noise); exactness is affordable there, the budget is for 1M.
EXACT_BELOW_PAPERS = 100_000
PAIR_SAMPLE = 20_000  # postings of its rarer word read to estimate a common pair's idf (cached)
RESCORE = 200  # best candidates that also get the common phrases' BM25 terms
FREQUENT_FLOOR = 32  # terms in fewer papers are not kept in the frequency table (their df < this)
RELOAD_CHANGE = 0.01  # reload the table when the paper count moved by more than this fraction
SMALL_CORPUS = 50_000  # ... or at any change below this size (the reload is cheap there)
MAX_CACHED_WORDS = 200_000
HIDDEN_MARGIN = 20  # extra FTS5 rows fetched so that a few hidden papers do not shorten the list
K1, B = 1.2, 0.75  # FTS5's bm25() constants
FTS_TABLE = "papers_fts"
_WORD = re.compile(r"[^\W_]+")  # a run of what FTS5's unicode61 tokenizer keeps (letters, digits)


@dataclass(frozen=True)
class Phrase:
    """One quoted query phrase: its text as sent to FTS5 and the tokens the index holds for it."""

    text: str
    tokens: tuple[str, ...]


def bounded_bm25(
    session: Session, phrases: list[str], weights: tuple[float, ...], condition: str, params: dict, limit: int,
    filtered: bool = True,
) -> list[tuple[int, float]]:
    """(paper id, BM25 score) of the best ``limit`` papers for the OR of ``phrases``.

    ``condition`` is a SQL filter on papers ``p`` with its ``params``, ``filtered`` whether it
    restricts more than hidden papers (then it is joined into the FTS5 query). See the module
    docstring for what is exact and what is not.
    """
    exact_expression = fts5_expression(phrases)  # the plain query (pairs weighted: phrase_weight.py)
    stats = TermStatistics.of(session)
    corpus = stats.corpus(session)
    if corpus[0] < EXACT_BELOW_PAPERS:
        return _fts5_top(session, exact_expression, weights, condition, params, limit, filtered)
    query = [Phrase(p, stats.tokenizer.phrase_tokens(p)) for p in phrases]
    from papertide.search.keyword.impact import impact_bm25  # (it builds on this module)

    found = impact_bm25(session, stats, corpus, query, weights, condition, params, limit, filtered)
    if found is not None:  # the impact index answered (impact_search.py); without one, FTS5:
        return found
    bounds = {ph.text: stats.df_bound(session, ph) for ph in query}
    if sum(bounds.values()) <= POSTINGS_BUDGET:
        return _fts5_top(session, exact_expression, weights, condition, params, limit, filtered)
    ordered = sorted(query, key=lambda ph: bounds[ph.text])
    rare, spent = [], 0
    for ph in ordered:
        if spent + bounds[ph.text] > POSTINGS_BUDGET:
            break
        rare.append(ph)
        spent += bounds[ph.text]
    depth = max(RESCORE, limit)
    # Each group: the phrases FTS5 scored, and the candidates it found with them.
    groups = [(rare, _fts5_top(session, fts5_expression([ph.text for ph in rare]), weights, condition, params, depth, filtered))] if rare else []
    seen = {pid for _, found in groups for pid, _ in found}
    if len(seen) < depth and len(rare) < len(ordered):
        # Too few papers have the rare words (or no word is under budget): the newest papers
        # with the next phrases, scored entirely here (FTS5's bm25() would count every posting
        # of each phrase for its idf, which is what the budget avoids).
        wider, added = [], 0
        for ph in ordered[len(rare):]:
            if added >= POSTINGS_BUDGET:
                break
            wider.append(ph)
            added += bounds[ph.text]
        newest = _fts5_newest(session, _or(wider), condition, params, depth - len(seen), seen, filtered)
        groups.append(([], [(pid, 0.0) for pid in newest]))
    rescored = []
    for scored, found in groups:
        common = [ph for ph in ordered[len(scored):] if ph.tokens]
        extra = _common_scores(session, stats, [pid for pid, _ in found], common, weights) if found and common else {}
        rescored.extend((pid, score + extra.get(pid, 0.0)) for pid, score in found)
    rescored.sort(key=lambda item: (-item[1], item[0]))
    return rescored[:limit]


def _or(phrases: list[Phrase]) -> str:
    """The plain OR of ``phrases``, for matching only (no score)."""
    return " OR ".join(f'"{ph.text}"' for ph in phrases)  # \w+ words and spaces: quoting escapes all


def _fts5_top(session, expression, weights, condition, params, limit, filtered: bool) -> list[tuple[int, float]]:
    """FTS5's own BM25 ranking of ``expression``'s matches that pass ``condition``; ``expression``
    comes from ``fts5_expression`` (its words repeated), so the score is divided by ``WORD_REPEATS``.

    Without date or organisation filters the FTS5 query runs alone and hidden papers are removed
    afterwards: joining ``papers`` for every match cost more than the ranking at 1M (2.2 us a row).
    """
    w = ", ".join(str(x) for x in weights)
    score = f"-bm25(papers_fts, {w}) / {float(WORD_REPEATS)!r}"
    if filtered:
        return _rows(session.execute(
            text(
                f"SELECT papers_fts.rowid, {score} AS score FROM papers_fts "
                f"JOIN papers AS p ON p.id = papers_fts.rowid WHERE papers_fts MATCH :match AND {condition} "
                "ORDER BY score DESC LIMIT :limit"
            ),
            {"match": expression, "limit": limit, **params},
        ))
    rows = _rows(session.execute(
        text(f"SELECT rowid, {score} AS score FROM papers_fts WHERE papers_fts MATCH :match ORDER BY score DESC LIMIT :limit"),
        {"match": expression, "limit": limit + HIDDEN_MARGIN},
    ))
    visible = _passing(session, [pid for pid, _ in rows], condition, params)
    if len(rows) - len(visible) > HIDDEN_MARGIN:  # many hidden papers at the top: filter first
        return _fts5_top(session, expression, weights, condition, params, limit, filtered=True)
    return [(pid, score) for pid, score in rows if pid in visible][:limit]


def _fts5_newest(session, expression, condition, params, limit, exclude: set[int], filtered: bool) -> list[int]:
    """The newest papers matching ``expression`` (no score: FTS5 walks rowids down and stops)."""
    if filtered:
        sql = ("SELECT papers_fts.rowid FROM papers_fts JOIN papers AS p ON p.id = papers_fts.rowid "
               f"WHERE papers_fts MATCH :match AND {condition} ORDER BY papers_fts.rowid DESC LIMIT :limit")
    else:
        sql = "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match ORDER BY rowid DESC LIMIT :limit"
    found = [int(pid) for pid in session.execute(text(sql), {"match": expression, "limit": limit + len(exclude) + HIDDEN_MARGIN, **params}).scalars()]
    visible = set(found) if filtered else _passing(session, found, condition, params)
    return [pid for pid in found if pid in visible and pid not in exclude][:limit]


def _passing(session, ids: list[int], condition: str, params: dict) -> set[int]:
    if not ids:
        return set()
    statement = text(f"SELECT p.id FROM papers AS p WHERE p.id IN :ids AND {condition}").bindparams(bindparam("ids", expanding=True))
    return set(session.execute(statement, {"ids": ids, **params}).scalars())


def _rows(result) -> list[tuple[int, float]]:
    return [(int(r[0]), float(r[1])) for r in result]


def _common_scores(session, stats: "TermStatistics", ids: list[int], common: list[Phrase], weights) -> dict[int, float]:
    """Sum over ``common`` phrases of their BM25 terms, for each paper of ``ids`` (as FTS5's bm25()),
    each phrase weighted by ``phrase_weight``."""
    rows, total_tokens = stats.corpus(session)
    avgdl = total_tokens / rows if rows else 1.0
    idf = {}
    for ph in common:
        hits = stats.df(session, ph)
        value = math.log((rows - hits + 0.5) / (hits + 0.5))
        idf[ph.text] = (value if value > 0 else 1e-6) * phrase_weight(ph.text)
    texts = session.execute(
        text("SELECT id, title, abstract, authors FROM papers WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)), {"ids": ids}
    ).all()
    sizes = session.execute(
        text(f"SELECT id, sz FROM {FTS_TABLE}_docsize WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)), {"ids": ids}
    ).all()
    length = {int(i): sum(_varints(sz)) for i, sz in sizes}
    counts = phrase_counts([(int(r[0]), [r[1] or "", r[2] or "", r[3] or ""]) for r in texts], common, stats.tokenizer)
    scores: dict[int, float] = {}
    for pid, per_phrase in counts.items():
        norm = K1 * (1 - B + B * length.get(pid, avgdl) / avgdl)
        score = 0.0
        for phrase, per_column in per_phrase.items():
            freq = sum(weights[c] * n for c, n in per_column.items())
            score += idf[phrase] * freq * (K1 + 1) / (freq + norm)
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
    columns = [_fold(value) for _, values in docs for value in values]
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


def _fold(value: str) -> str:
    """Lower case without diacritics, as unicode61 with remove_diacritics sees the text."""
    value = value.lower()
    if value.isascii():
        return value
    return "".join(ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch))


def _varints(blob: bytes) -> list[int]:
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
    def of(cls, session: Session) -> "TermStatistics":
        """The statistics of the database behind ``session``, up to date (shared per process)."""
        key = str(session.get_bind().url)
        with _REGISTRY_LOCK:
            stats = _REGISTRY.get(key)
            if stats is None:
                stats = _REGISTRY[key] = cls(Tokenizer(_tokenize_options(session)))
                while len(_REGISTRY) > 8:
                    _REGISTRY.popitem(last=False)
            _REGISTRY.move_to_end(key)
        stats.refresh(session)
        return stats

    def refresh(self, session) -> None:
        rows, _ = self.corpus(session)
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

    @staticmethod
    def corpus(session) -> tuple[int, int]:
        """(papers indexed, tokens in all columns), from FTS5's averages record."""
        row = session.execute(text(f"SELECT block FROM {FTS_TABLE}_data WHERE id = 1")).first()
        if row is None or not row[0]:
            return 0, 0
        values = _varints(row[0])
        return values[0], sum(values[1:])

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


_REGISTRY: "OrderedDict[str, TermStatistics]" = OrderedDict()
_REGISTRY_LOCK = threading.Lock()


def _tokenize_options(session) -> str:
    """The ``tokenize=`` argument papers_fts was created with (so tokens match the index)."""
    sql = session.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": FTS_TABLE}).scalar_one()
    match = re.search(r"tokenize\s*=\s*('(?:[^']|'')*'|\"[^\"]*\")", sql)
    return match.group(1) if match else "'unicode61'"
