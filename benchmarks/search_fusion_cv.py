"""Fusion variants judged the way issue 3 asks: one configuration for both benchmarks, its free
parameters chosen by cross-validation, and per-query wins/losses against production.

    python benchmarks/search_fusion_cv.py [--data ../shared/data] [--folds 4] [--families pairs,weight]
                                          [--windows] [--dump DIR]

Both benchmarks are loaded through ``search_quality.py`` (temporary migrated SQLite database,
papertide's FTS5 BM25, MiniLM vectors from the same cache). For every query the production
keyword list (3,000 deep, so any paper's BM25 is known) and the query vector are collected once;
each variant then re-ranks with ``papertide.search.fusion.fuse`` in memory. Families:

* ``weight``: the production method, keyword weight 0.60-0.90;
* ``prf``: dense pseudo-relevance feedback (Rocchio in embedding space): the query vector plus
  beta x the mean vector of the top-k fused papers, dense side searched again, fused again;
* ``fill``: dense-only candidates get their real BM25 score instead of 0;
* ``reference``: each side standardised against the union of candidates, the keyword candidates,
  or (dense) the whole corpus, instead of its own top 100;
* ``pairs``: the keyword side's adjacent-pair phrases weighted 0-2 against single words
  (production: ``phrase_weight.PAIR_WEIGHT``; BM25 is a sum over phrases, so the list is
  re-scored from the pairs' own FTS5 BM25), for each keyword weight;
* ``title-sum`` / ``title-max``: a second dense signal, the cosine with the paper's title alone
  (titles embedded once, cached beside the document vectors), mixed into or maxed with the
  title+abstract cosine;
* ``depth``: z-scores against each list's top 10/20/50 instead of its top 100;
* ``mnz``: CombMNZ (Fox & Shaw): min-max scores summed, times the number of lists holding the paper;
* ``bonus``: z-score fusion plus a constant for papers in both lists;
* ``--windows`` (slow: embeds ~7,300 more texts, 16 min at load 15): papers longer than the model's
  256 tokens get a second vector, title + the text from token 192 on (64 tokens of overlap); a
  paper's dense score is the cosine with the normalised mean of its windows (``windows-mean``) or
  the better of the two cosines (``windows-max``), for each keyword weight.

Cross-validation: queries of each benchmark are split into ``--folds`` folds by
sha1("fold-" + query id). For each fold, the setting is chosen on the other folds and scored on
the held-out fold; the printed CV figures pool the held-out folds. Two choosing rules are printed
(``cross_validate``): ``floor`` (best known-item MRR@10 among settings with CACM nDCG@10 >= 0.52)
and ``ratio`` (best min(MRR@10 / 0.92, nDCG@10 / 0.52)). ``--dump DIR`` keeps every family's
per-query figures.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import search_quality as sq  # noqa: E402

from papertide.catalog.models import Paper  # noqa: E402
from papertide.db import Database  # noqa: E402
from papertide.search.semantic.registry import load_embedder  # noqa: E402
from papertide.search.fusion import KEYWORD_WEIGHT, fuse, standardise  # noqa: E402
from papertide.search import SearchOptions, SearchService  # noqa: E402
from papertide.search.keyword.terms import COLUMN_WEIGHTS, PAIR_WEIGHT, query_bigrams  # noqa: E402
from shared_data import SHARED_DATA  # noqa: E402

CANDIDATES = SearchOptions().candidates  # what the service takes from each side
KEYWORD_DEPTH = 3000
CACM_FLOOR = 0.52
KI_GOAL = 0.92


def _bm25_of(session, phrases: list[str], depth: int = 100_000) -> list[tuple[int, float]]:
    """FTS5's plain BM25 of the OR of ``phrases`` (unweighted; the benchmark has no hidden papers)."""
    if not phrases:
        return []
    weights = ", ".join(str(w) for w in COLUMN_WEIGHTS)
    return [(int(pid), float(score)) for pid, score in session.execute(
        text(f"SELECT rowid, -bm25(papers_fts, {weights}) AS s FROM papers_fts WHERE papers_fts MATCH :m ORDER BY s DESC LIMIT :n"),
        {"m": " OR ".join(f'"{p}"' for p in phrases), "n": depth},
    )]


class Collection:
    """One benchmark's corpus vectors and, per query, the full keyword list and query vector."""

    def __init__(self, corpus: Path, queries: Path, qrels: Path | None, cache: Path):
        docs, rows = sq.read_jsonl(corpus), sq.read_jsonl(queries)
        judged = sq.read_judgments(rows, qrels)
        rows = [q for q in rows if judged.get(q["query_id"])]
        with tempfile.TemporaryDirectory() as tmp:
            database = Database(f"sqlite:///{tmp}/cv.db")
            database.migrate()
            sq.load_corpus(database, docs)
            embedder = load_embedder("default", threads=1)
            print(sq.embed_corpus(database, embedder, corpus, cache), flush=True)
            service = SearchService(database, embedder)
            with database.session() as session:
                self.doc_id = dict(session.execute(Paper.__table__.select().with_only_columns(Paper.id, Paper.arxiv_id)).all())
                index = service.semantic.index(session)
                self.ids, self.vectors = index.ids, index.vectors.astype(np.float32)
                self.queries = [
                    {"id": q["query_id"], "relevant": judged[q["query_id"]], "keyword": service.keyword.search(session, q["text"], KEYWORD_DEPTH),
                     "vector": embedder.embed_query(q["text"]),
                     # the pairs' part of the production BM25 (a sum over phrases), at weight 1
                     "pairs": dict(_bm25_of(session, query_bigrams(q["text"])))}
                    for q in rows
                ]
            database.dispose()
        self.row = {int(pid): i for i, pid in enumerate(self.ids)}
        self.docs, self.tails, self.titles = docs, None, None
        self.corpus, self.cache = corpus, cache

    def embed_titles(self, embedder) -> str:
        """One more vector per paper, of its title alone (cached beside the document vectors)."""
        digest = hashlib.sha256(self.corpus.read_bytes()).hexdigest()[:16]
        cache = self.cache / f"{self.corpus.parent.name}-{self.corpus.name}-{digest}-titles-{embedder.model_id.split('/')[-1]}.npz"
        if cache.exists():
            stored = np.load(cache)
            by_doc = dict(zip(stored["doc_ids"].tolist(), stored["vectors"]))
            note = f"title vectors from cache {cache}"
        else:
            doc_ids = [str(doc["doc_id"]) for doc in self.docs]
            vectors = embedder.embed_documents([(doc.get("title") or "").strip() for doc in self.docs])
            np.savez(cache, doc_ids=np.array(doc_ids), vectors=vectors.astype(np.float32))
            by_doc = dict(zip(doc_ids, vectors))
            note = f"embedded {len(doc_ids):,} titles, cached in {cache}"
        self.titles = np.stack([by_doc[self.doc_id[int(pid)]] for pid in self.ids]).astype(np.float32)
        return note

    def embed_tails(self, embedder) -> None:
        """Second-window vectors of the papers longer than the model's window."""
        from papertide.search.semantic.embedder import document_text

        tokenizer, rows, texts = embedder._tokenizer, [], []
        row_of_doc = {doc_id: self.row[pid] for pid, doc_id in self.doc_id.items()}
        tokenizer.no_truncation()
        for doc in self.docs:
            text = document_text(doc.get("title") or "", doc.get("abstract") or "")
            encoding = tokenizer.encode(text)
            if len(encoding.ids) > 256:
                rows.append(row_of_doc[str(doc["doc_id"])])
                texts.append(f"{doc['title'].strip()}. {text[encoding.offsets[192][0]:]}")
        tokenizer.enable_truncation(256)
        self.tails = (np.array(rows, dtype=np.int64), embedder.embed_documents(texts))

    def cosines(self, vector: np.ndarray, windows: str | None = None) -> np.ndarray:
        cosines = self.vectors @ vector
        if windows and self.tails is not None and len(self.tails[0]):
            rows, tails = self.tails
            if windows == "mean":
                both = self.vectors[rows] + tails
                cosines[rows] = (both / np.linalg.norm(both, axis=1, keepdims=True)) @ vector
            else:
                cosines[rows] = np.maximum(cosines[rows], tails @ vector)
        return cosines

    def nearest(self, cosines: np.ndarray, k: int = CANDIDATES) -> list[tuple[int, float]]:
        best = np.argpartition(-cosines, k - 1)[:k]
        best = best[np.argsort(-cosines[best], kind="stable")]
        return [(int(self.ids[i]), float(cosines[i])) for i in best]


def rank(c: Collection, q: dict, weight=KEYWORD_WEIGHT, prf_k=0, prf_beta=0.0, fill=False, reference="own", windows=None,
         title=0.0, title_mode="sum", depth=CANDIDATES, combine="z", both_bonus=0.0,
         pairs=None) -> list[str]:
    """One query through one variant: the ranked doc ids."""
    keyword = q["keyword"][:CANDIDATES]
    if pairs is not None:  # BM25 with the adjacent-pair phrases weighted by ``pairs`` (production: PAIR_WEIGHT)
        scored = {p: s + (pairs - PAIR_WEIGHT) * q["pairs"].get(p, 0.0) for p, s in q["keyword"]}
        keyword = sorted(scored.items(), key=lambda item: (-item[1], item[0]))[:CANDIDATES]
    cosines = c.cosines(q["vector"], windows)
    if title:
        title_cosines = c.titles @ q["vector"]
        if title_mode == "max":
            cosines = np.maximum(cosines, title_cosines)
        else:
            cosines = (1 - title) * cosines + title * title_cosines
    semantic = c.nearest(cosines)
    if depth != CANDIDATES or combine != "z" or both_bonus:
        return [c.doc_id[pid] for pid in _fuse_variant(c, keyword, semantic, cosines, weight, depth, combine, both_bonus)]
    fused = _fuse(c, keyword, semantic, cosines, q, weight, fill, reference)
    if prf_k and prf_beta:
        centroid = c.vectors[[c.row[pid] for pid in fused[:prf_k]]].mean(axis=0)
        vector = q["vector"] + prf_beta * centroid
        cosines = c.vectors @ (vector / np.linalg.norm(vector))
        fused = _fuse(c, keyword, c.nearest(cosines), cosines, q, weight, fill, reference)
    return [c.doc_id[pid] for pid in fused]


def _fuse(c, keyword, semantic, cosines, q, weight, fill, reference) -> list[int]:
    candidates = list(dict.fromkeys([p for p, _ in keyword] + [p for p, _ in semantic]))
    if reference == "own" and not fill:  # production: papertide.search.fusion.fuse
        return [f.paper_id for f in fuse(keyword, semantic, {p: float(cosines[c.row[p]]) for p in candidates}, weight)]
    every_bm25 = dict(q["keyword"]) if fill else dict(keyword)
    kw = np.array([every_bm25.get(p, 0.0) for p in candidates])
    cos = np.array([float(cosines[c.row[p]]) for p in candidates])
    kw_ref, cos_ref = np.array([s for _, s in keyword]), np.array([s for _, s in semantic])
    if reference == "union":
        kw_ref, cos_ref = kw, cos
    elif reference == "keyword":
        cos_ref = np.array([float(cosines[c.row[p]]) for p, _ in keyword])
    elif reference == "corpus":
        cos_ref = cosines
    total = weight * standardise(kw, kw_ref) + (1 - weight) * standardise(cos, cos_ref)
    return [candidates[i] for i in np.argsort(-total, kind="stable")]


def _fuse_variant(c, keyword, semantic, cosines, weight, depth, combine, both_bonus) -> list[int]:
    """Fusions not in production: z-score against a shallower reference (each list's top
    ``depth``), CombMNZ over min-max scores (Fox & Shaw 1994), and a bonus for being in both lists."""
    candidates = list(dict.fromkeys([p for p, _ in keyword] + [p for p, _ in semantic]))
    in_keyword, in_semantic = {p for p, _ in keyword}, {p for p, _ in semantic}
    keyword_score = dict(keyword)
    kw = np.array([keyword_score.get(p, 0.0) for p in candidates])
    cos = np.array([float(cosines[c.row[p]]) for p in candidates])
    kw_ref, cos_ref = np.array([s for _, s in keyword[:depth]]), np.array([s for _, s in semantic[:depth]])
    both = np.array([float(p in in_keyword and p in in_semantic) for p in candidates])
    if combine == "mnz":
        def minmax(values, ref):
            low, high = (float(ref.min()), float(ref.max())) if len(ref) else (0.0, 1.0)
            return np.clip((values - low) / (high - low if high - low > 1e-9 else 1.0), 0.0, None)
        hits = np.array([float(p in in_keyword) + float(p in in_semantic) for p in candidates])
        total = (weight * minmax(kw, kw_ref) + (1 - weight) * minmax(cos, np.array([s for _, s in semantic]))) * hits
    else:
        total = weight * standardise(kw, kw_ref) + (1 - weight) * standardise(cos, cos_ref) + both_bonus * both
    return [candidates[i] for i in np.argsort(-total, kind="stable")]


def per_query(c: Collection, setting: dict, key: str) -> np.ndarray:
    return np.array([sq.metrics(rank(c, q, **setting), q["relevant"])[key] for q in c.queries])


def folds(c: Collection, k: int) -> np.ndarray:
    return np.array([int(hashlib.sha1(f"fold-{q['id']}".encode()).hexdigest(), 16) % k for q in c.queries])


def cross_validate(ki: dict, cacm: dict, ki_folds: np.ndarray, cacm_folds: np.ndarray, k: int, rule: str = "floor"):
    """Held-out known-item MRR@10 and CACM nDCG@10, and the setting each fold chose.

    ``rule`` says how the training folds choose: ``floor``, the best known-item MRR@10 among
    settings with CACM nDCG@10 >= 0.52; ``ratio``, the best worse-of-two ratio to the goals,
    min(MRR@10 / 0.92, nDCG@10 / 0.52) (both goals at once, no knife edge on 12 CACM queries)."""
    held_ki, held_cacm, chosen = np.zeros(len(ki_folds)), np.zeros(len(cacm_folds)), []
    for f in range(k):
        train = {s: (ki[s][ki_folds != f].mean(), cacm[s][cacm_folds != f].mean()) for s in ki}
        allowed = [s for s in ki if train[s][1] >= CACM_FLOOR]
        if rule == "ratio":
            best = max(ki, key=lambda s: min(train[s][0] / KI_GOAL, train[s][1] / CACM_FLOOR))
        else:
            best = max(allowed, key=lambda s: train[s][0]) if allowed else max(ki, key=lambda s: train[s][1])
        chosen.append(best)
        held_ki[ki_folds == f] = ki[best][ki_folds == f]
        held_cacm[cacm_folds == f] = cacm[best][cacm_folds == f]
    return held_ki.mean(), held_cacm.mean(), chosen


def paired(base: np.ndarray, other: np.ndarray) -> str:
    return f"{int((other > base + 1e-12).sum())}/{int((other < base - 1e-12).sum())}"


FAMILIES = {
    "weight": [{"weight": w} for w in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)],
    "prf": [{"prf_k": k, "prf_beta": b} for k in (1, 3, 5, 10) for b in (0.0, 0.25, 0.5, 1.0)],
    "fill": [{"fill": True, "weight": w} for w in (0.65, 0.7, 0.75, 0.8)],
    "reference": [{"reference": r, "weight": w} for r in ("union", "keyword", "corpus") for w in (0.6, 0.7, 0.75, 0.8, 0.85)],
    "title-sum": [{"title": g, "weight": w} for g in (0.2, 0.35, 0.5, 0.65) for w in (0.65, 0.7, 0.75, 0.8, 0.85)],
    "title-max": [{"title": 1.0, "title_mode": "max", "weight": w} for w in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85)],
    "depth": [{"depth": d, "weight": w} for d in (10, 20, 50) for w in (0.65, 0.7, 0.75, 0.8, 0.85)],
    "mnz": [{"combine": "mnz", "weight": w} for w in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)],
    "bonus": [{"both_bonus": b, "weight": w} for b in (0.1, 0.25, 0.5) for w in (0.7, 0.75, 0.8)],
    "pairs": [{"pairs": b, "weight": w} for b in (0.0, 0.15, 0.25, 0.35, 0.5, 0.65, 0.75, 1.0, 1.5, 2.0) for w in (0.65, 0.7, 0.75, 0.8, 0.85, 0.9)],
    # all three at once, the pair weights FTS5 can express (1/n: phrase_weight.py) and full weight
    "joint": [{"pairs": p, "weight": w, "both_bonus": b} for p in (0.25, 0.5, 1.0) for w in (0.7, 0.75, 0.8, 0.85) for b in (0.0, 0.25, 0.5)],
    # the same with every 1/n down to 1/4 and keyword weight 0.9 too (a check of the grid's choice)
    "joint-wide": [{"pairs": p, "weight": w, "both_bonus": b} for p in (0.25, 1 / 3, 0.5, 1.0) for w in (0.7, 0.75, 0.8, 0.85, 0.9) for b in (0.0, 0.25, 0.5)],
    "windows-mean": [{"windows": "mean", "weight": w} for w in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)],
    "windows-max": [{"windows": "max", "weight": w} for w in (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="holds benchmark_known_item/ and benchmark_cacm/")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--cache", type=Path, default=Path(".cache/search_quality"))
    parser.add_argument("--families", default="weight,prf,fill,reference")
    parser.add_argument("--dump", type=Path, help="write each family's per-query figures here (one .npz each)")
    parser.add_argument("--windows", action="store_true", help="also the two-window document vectors (slow)")
    args = parser.parse_args()
    known_item, cacm_dir = args.data / "benchmark_known_item", args.data / "benchmark_cacm"
    ki = Collection(known_item / "corpus.jsonl.gz", known_item / "queries.jsonl", None, args.cache)
    cacm = Collection(cacm_dir / "corpus.jsonl", cacm_dir / "queries.jsonl", cacm_dir / "qrels.tsv", args.cache)
    if any(f.startswith("title") for f in args.families.split(",")):
        embedder = load_embedder("default", threads=1)
        for collection in (ki, cacm):
            print(collection.embed_titles(embedder), flush=True)
    if args.windows:
        embedder = load_embedder("default", threads=1)
        for collection in (ki, cacm):
            collection.embed_tails(embedder)
        args.families += ",windows-mean,windows-max"
    ki_folds, cacm_folds = folds(ki, args.folds), folds(cacm, args.folds)
    base_ki, base_cacm = per_query(ki, {}, "mrr@10"), per_query(cacm, {}, "ndcg@10")
    print(f"production (keyword weight {KEYWORD_WEIGHT}): known-item MRR@10 {base_ki.mean():.4f}, CACM nDCG@10 {base_cacm.mean():.4f}")
    print(f"{'family':<10} {'setting':<40} {'KI MRR':>7} {'w/l':>6} {'CACM':>7} {'w/l':>6}")
    for family in args.families.split(","):
        settings = FAMILIES[family]
        ki_scores = {repr(s): per_query(ki, s, "mrr@10") for s in settings}
        cacm_scores = {repr(s): per_query(cacm, s, "ndcg@10") for s in settings}
        for s in ki_scores:
            print(f"{family:<10} {s:<40} {ki_scores[s].mean():>7.4f} {paired(base_ki, ki_scores[s]):>6} "
                  f"{cacm_scores[s].mean():>7.4f} {paired(base_cacm, cacm_scores[s]):>6}")
        for rule in ("floor", "ratio"):
            held_ki, held_cacm, chosen = cross_validate(ki_scores, cacm_scores, ki_folds, cacm_folds, args.folds, rule)
            print(f"{family:<10} {args.folds}-fold CV ({rule}) held-out: known-item MRR@10 {held_ki:.4f}, "
                  f"CACM nDCG@10 {held_cacm:.4f}; chosen {chosen}", flush=True)
        if args.dump:
            args.dump.mkdir(parents=True, exist_ok=True)
            np.savez(args.dump / f"{family}.npz", settings=np.array(list(ki_scores)), ki_folds=ki_folds, cacm_folds=cacm_folds,
                     ki=np.stack(list(ki_scores.values())), cacm=np.stack(list(cacm_scores.values())))


if __name__ == "__main__":
    main()
