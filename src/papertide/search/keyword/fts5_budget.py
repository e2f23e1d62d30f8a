"""FTS5's own BM25 ranking of a query's phrases: exact, or with the work bounded by a budget.

An OR query ranks every paper that contains any query word. At a million papers a common word
("model", "learning") has hundreds of thousands of postings, and FTS5 scores and sorts each of
them (plus a counting pass per phrase for its idf), so a long query took seconds. Above the
exact size, when the impact index cannot answer (not built yet, damaged, or a filter its
candidates cannot satisfy), a budget of postings bounds the work instead:

1. Each phrase (word or adjacent pair) gets its document frequency from the statistics of the
   index's frequent terms (``fts5.TermStatistics``).
2. If all phrases together have at most ``POSTINGS_BUDGET`` postings, the query is the exact one.
3. Otherwise the rarest phrases, up to the budget, find the candidates, and FTS5 ranks them by
   BM25 over those phrases (idf and length normalisation are the whole corpus's, as always).
4. The common phrases' BM25 terms are then added for the best ``RESCORE`` candidates, computed
   from their text (``fts5.rescore``). BM25 is a sum over phrases, so a rescored candidate's
   score is its full BM25 score; what is approximate is only which papers become candidates.

If even the rarest phrase is over budget ("large language models" on a big corpus), the newest
papers that contain it, up to the budget, are the candidates.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from papertide.search.filters import SqlFilter, passing
from papertide.search.keyword.fts5 import (
    FTS_TABLE, WORD_REPEATS, Fts5Query, fts5_expression, match_any, rescore, word_repeats,
)
from papertide.search.keyword.terms import COLUMN_WEIGHTS
from papertide.search.trace import span

POSTINGS_BUDGET = 50_000  # postings the candidate query may read (MRR against it: research log)
RESCORE = 200  # best candidates that also get the common phrases' BM25 terms
HIDDEN_MARGIN = 20  # extra FTS5 rows fetched so that a few hidden papers do not shorten the list


def exact_bm25(session: Session, phrases: list[str], where: SqlFilter, limit: int) -> list[tuple[int, float]]:
    """(paper id, BM25 score) of the best ``limit`` papers for the OR of ``phrases``, as FTS5 ranks them."""
    return fts5_ranked(session, fts5_expression(phrases), where, limit, word_repeats(phrases))


def budget_bm25(session: Session, query: Fts5Query, where: SqlFilter, limit: int) -> list[tuple[int, float]]:
    """The same, with at most about ``POSTINGS_BUDGET`` postings read (see the module doc)."""
    bounds = {ph.text: query.stats.df_bound(session, ph) for ph in query.phrases}
    if sum(bounds.values()) <= POSTINGS_BUDGET:
        return exact_bm25(session, [ph.text for ph in query.phrases], where, limit)
    ordered = sorted(query.phrases, key=lambda ph: bounds[ph.text])
    rare, spent = [], 0
    for ph in ordered:
        if spent + bounds[ph.text] > POSTINGS_BUDGET:
            break
        rare.append(ph)
        spent += bounds[ph.text]
    depth = max(RESCORE, limit)
    # Each group: the phrases FTS5 scored, and the candidates it found with them.
    rare_texts = [ph.text for ph in rare]
    groups = [(rare, fts5_ranked(session, fts5_expression(rare_texts), where, depth, word_repeats(rare_texts)))] if rare else []
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
        newest = newest_matching(session, [ph.text for ph in wider], where, depth - len(seen), exclude=seen)
        groups.append(([], [(pid, 0.0) for pid in newest]))
    rescored = []
    for scored, found in groups:
        common = [ph for ph in ordered[len(scored):] if ph.tokens]
        extra = rescore(session, query, [pid for pid, _ in found], common) if found and common else {}
        rescored.extend((pid, score + extra.get(pid, 0.0)) for pid, score in found)
    rescored.sort(key=lambda item: (-item[1], item[0]))
    return rescored[:limit]


def fts5_ranked(session: Session, expression: str, where: SqlFilter, limit: int,
                repeats: int = WORD_REPEATS) -> list[tuple[int, float]]:
    """FTS5's BM25 ranking of ``expression``'s matches that pass ``where``; ``expression`` comes
    from ``fts5_expression`` (its words listed ``repeats`` times), so the score is divided by that.

    Without date or organisation filters the FTS5 query runs alone and hidden papers are removed
    afterwards: joining ``papers`` for every match cost more than the ranking at 1M.
    """
    weights = ", ".join(str(x) for x in COLUMN_WEIGHTS)
    score = f"-bm25({FTS_TABLE}, {weights}) / {float(repeats)!r}"
    with span("keyword.fts5"):
        if where.active:
            return _pairs(session.execute(
                text(
                    f"SELECT {FTS_TABLE}.rowid, {score} AS score FROM {FTS_TABLE} JOIN papers AS p ON p.id = {FTS_TABLE}.rowid "
                    f"WHERE {FTS_TABLE} MATCH :match AND {where.condition} ORDER BY score DESC LIMIT :limit"
                ),
                {"match": expression, "limit": limit, **where.params},
            ))
        rows = _pairs(session.execute(
            text(f"SELECT rowid, {score} AS score FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :match ORDER BY score DESC LIMIT :limit"),
            {"match": expression, "limit": limit + HIDDEN_MARGIN},
        ))
        visible = passing(session, [pid for pid, _ in rows], where)
    if len(rows) - len(visible) > HIDDEN_MARGIN:  # many hidden papers at the top: filter first
        return fts5_ranked(session, expression, SqlFilter(where.condition, where.params, active=True), limit, repeats)
    return [(pid, score) for pid, score in rows if pid in visible][:limit]


def newest_matching(session: Session, phrases: list[str], where: SqlFilter, limit: int, *, exclude: set[int]) -> list[int]:
    """The newest papers matching any of ``phrases`` that pass ``where`` and are not in
    ``exclude``: no score, so FTS5 walks rowids down and stops."""
    with span("keyword.newest"):
        if where.active:
            sql = (f"SELECT {FTS_TABLE}.rowid FROM {FTS_TABLE} JOIN papers AS p ON p.id = {FTS_TABLE}.rowid "
                   f"WHERE {FTS_TABLE} MATCH :match AND {where.condition} "
                   f"ORDER BY {FTS_TABLE}.rowid DESC LIMIT :limit")
        else:
            sql = f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :match ORDER BY rowid DESC LIMIT :limit"
        found = [int(pid) for pid in session.execute(
            text(sql), {"match": match_any(phrases), "limit": limit + len(exclude) + HIDDEN_MARGIN, **where.params},
        ).scalars()]
        visible = set(found) if where.active else passing(session, found, where)
    return [pid for pid in found if pid in visible and pid not in exclude][:limit]


def _pairs(result) -> list[tuple[int, float]]:
    return [(int(r[0]), float(r[1])) for r in result]
