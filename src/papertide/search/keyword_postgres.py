"""Keyword retrieval on PostgreSQL: the weighted ``papers.search_document`` (migration 0003), GIN.

The same query semantics as the FTS5 side (``keyword.py``): any of the query's words (OR), plus
each adjacent pair as a phrase (``<->``), so papers with the words in the query's order rank
higher. Every word and pair is a bound parameter turned into a ``tsquery`` by PostgreSQL's own
``plainto_tsquery``/``phraseto_tsquery``: user text is never parsed as tsquery syntax.

Each word is looked up twice, stemmed (``english``: title and abstract) and as written
(``simple``: author names); the lexemes are de-duplicated so a word whose stem is itself does
not count twice. Ranking is ``ts_rank_cd`` with the fields weighted as FTS5's ``bm25()`` columns
(``keyword.COLUMN_WEIGHTS``), normalised by document length as BM25 is.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

# ts_rank_cd's normalisation: 1 divides the rank by 1 + log(document length), BM25's length idea.
RANK_NORMALISATION = 1


def rank_weights(title: float, abstract: float, authors: float) -> str:
    """The ``{D, C, B, A}`` weight array for ts_rank_cd: A is the title, B the abstract, C authors."""
    return "{" + ", ".join(str(float(w)) for w in (0.0, authors, abstract, title)) + "}"


def tsquery_sql(terms: list[str], bigrams: list[str]) -> tuple[str, dict]:
    """A SQL expression for the tsquery "any term, or any bigram as a phrase", and its parameters."""
    params = {f"t{i}": term for i, term in enumerate(terms)}
    words = " || ".join(f"to_tsvector('english', :t{i}) || to_tsvector('simple', :t{i})" for i in range(len(terms)))
    # Distinct lexemes of the words, OR-ed: quote_literal makes each one a quoted tsquery operand.
    any_word = (
        "(SELECT coalesce(string_agg(DISTINCT quote_literal(lexeme), ' | '), '')::tsquery "
        f"FROM unnest(tsvector_to_array({words})) AS lexeme)"
    )
    parts = [any_word]
    for i, pair in enumerate(bigrams):
        params[f"b{i}"] = pair
        parts.append(f"phraseto_tsquery('english', :b{i})")
    return " || ".join(parts), params


def keyword_search_postgres(
    session: Session, terms: list[str], bigrams: list[str], weights: tuple[float, float, float],
    condition: str, params: dict, limit: int,
) -> list[tuple[int, float]]:
    """(paper id, ts_rank_cd score; higher is better) for the ``limit`` best matches."""
    query, query_params = tsquery_sql(terms, bigrams)
    rows = session.execute(
        text(
            "SELECT p.id, ts_rank_cd(CAST(:weights AS real[]), p.search_document, q.query, :normalisation) AS score "
            f"FROM papers AS p, (SELECT {query} AS query) AS q "
            f"WHERE p.search_document @@ q.query AND {condition} "
            "ORDER BY score DESC, p.id LIMIT :limit"
        ),
        {**query_params, **params, "weights": rank_weights(*weights), "normalisation": RANK_NORMALISATION, "limit": limit},
    ).all()
    return [(int(r[0]), float(r[1])) for r in rows]
