"""Small builders the search tests share: papers through the real upsert, and a service."""

from __future__ import annotations

from datetime import datetime, timezone

from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.search import Filters, KeywordOptions, SearchOptions, SearchService
from papertide.search.files import SearchFiles
from papertide.search.keyword import KeywordRetriever
from papertide.search.semantic.embedder import HashEmbedder
from papertide.search.semantic.indexer import index_papers

PAPERS = [
    ("2401.00001", "Sparse attention for long documents", "We make transformer attention sparse so that long documents fit in memory.", ["Ada Lovelace"], "2024-01-05", "deepmind"),
    ("2402.00002", "Protein folding with diffusion models", "A diffusion model predicts protein structures from sequences.", ["Grace Hopper"], "2024-02-10", None),
    ("2403.00003", "Reinforcement learning for robot grasping", "Robots learn to grasp objects by trial and error with reinforcement learning.", ["Alan Turing"], "2024-03-15", "openai"),
    ("2404.00004", "Speech recognition in noisy rooms", "An acoustic model that recognises speech despite background noise.", ["Claude Shannon"], "2024-04-20", None),
    ("2405.00005", "Graph neural networks for molecules", "Message passing networks predict molecular properties from graphs.", ["Marie Curie"], "2024-05-25", "deepmind"),
    ("2406.00006", "Retrieval augmented generation at scale", "Language models retrieve documents before answering questions.", ["Ada Lovelace", "Alan Turing"], "2024-06-30", None),
]


def record(arxiv_id, title, abstract, authors, published, org=None, **extra) -> PaperRecord:
    fields = {
        "arxiv_id": arxiv_id, "title": title, "abstract": abstract, "authors": authors,
        "published_at": datetime.fromisoformat(published).replace(tzinfo=timezone.utc),
    }
    if org:
        fields["organization"] = {"slug": org, "name": org.title()}
    return PaperRecord.model_validate({**fields, **extra})


def add_papers(database, papers=PAPERS) -> None:
    with database.session() as session:
        upsert_papers(session, [record(*p) for p in papers])


def keyword_hits(database, query: str, limit: int = 10, filters: Filters = Filters(),
                 options: KeywordOptions = KeywordOptions()) -> list[tuple[int, float]]:
    """The keyword side alone: (paper id, BM25 score), best first."""
    with database.session() as session:
        retriever = KeywordRetriever(SearchFiles(database.url), options)
        return retriever.search(session, query, limit, filters.sql(session.get_bind().dialect.name))


def service_with(database, papers=PAPERS, embedder=None, options: SearchOptions = SearchOptions()) -> SearchService:
    add_papers(database, papers)
    embedder = embedder or HashEmbedder()
    index_papers(database, embedder, progress=False)
    return SearchService(database, embedder, options)

def invoke_cli(database, monkeypatch, args: list[str]):
    """Run ``papertide <args>`` on ``database`` with the hash embedder (no model files)."""
    from click.testing import CliRunner

    from papertide.cli import main
    from papertide.config import get_settings
    from papertide.db import get_database

    monkeypatch.setenv("PAPERTIDE_DATABASE_URL", database.url)
    monkeypatch.setenv("PAPERTIDE_EMBEDDER", "hash")
    get_settings.cache_clear()
    get_database.cache_clear()
    try:
        return CliRunner().invoke(main, args, catch_exceptions=False)
    finally:
        get_database().dispose()
        get_database.cache_clear()
        get_settings.cache_clear()


HOSTILE_QUERIES = [
    '"', '"unbalanced', "((", "a)", "NEAR(attention long, 2)", "attention AND", "OR", "NOT robots", "*", "atten*",
    "title:protein", "^sparse", "-", "'; DROP TABLE papers; --", "\x00", "🙂 émoji", "a" * 10_000,
    " ".join(["protein"] * 5000), "2405.99999", "2405.00005v99",
]
