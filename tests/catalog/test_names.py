"""Organisations and authors to follow: suggestions and the catalog's spelling, on a real database
of either backend (the authors are unpacked from JSON by each backend's own function)."""

from __future__ import annotations

from papertide.catalog import names
from papertide.catalog.models import Paper
from tests.catalog.helpers import MON, TUE, make_record, seed

PEOPLE = [
    make_record("2508.10001", "One", day=MON, authors=["Kaiming He", "Ross Girshick"], org=("fair", "FAIR")),
    make_record("2508.10002", "Two", day=MON, authors=["Kaiming He", "Piotr Dollár"], org=("fair", "FAIR")),
    make_record("2508.10003", "Three", day=TUE, authors=["Heming Xia", "Zhejiang Student"], org=("ZJU", "Zhejiang University")),
    make_record("2508.10004", "Four", day=TUE, authors=["Under_score 100%"], org=("fairseq-lab", "Fairseq Lab")),
]


def test_organisations_are_suggested_by_name_or_slug_starts_first(database):
    seed(database, PEOPLE)
    with database.session() as session:
        assert names.suggest_organizations(session, "fair") == [("fair", "FAIR", 2), ("fairseq-lab", "Fairseq Lab", 1)]
        assert names.suggest_organizations(session, "zju") == [("ZJU", "Zhejiang University", 1)]
        assert names.suggest_organizations(session, "university") == [("ZJU", "Zhejiang University", 1)]
        assert [slug for slug, _, _ in names.suggest_organizations(session, "")] == ["fair", "fairseq-lab", "ZJU"]
        assert names.suggest_organizations(session, "%") == [] and names.suggest_organizations(session, "_") == []


def test_authors_are_suggested_starts_first_then_most_papers(database):
    seed(database, PEOPLE)
    with database.session() as session:
        assert names.suggest_authors(session, "he") == []  # fewer than MIN_TYPED characters
        assert names.suggest_authors(session, "hem") == [("Heming Xia", 1)]
        assert names.suggest_authors(session, "kai") == [("Kaiming He", 2)]
        assert names.suggest_authors(session, "ing") == [("Kaiming He", 2), ("Heming Xia", 1)]
        assert names.suggest_authors(session, "dollár") == [("Piotr Dollár", 1)]
        assert names.suggest_authors(session, "r_s") == [("Under_score 100%", 1)]  # LIKE's characters are literal:
        assert names.suggest_authors(session, "d_r") == []  # "_" is no wildcard ("Under")
        assert names.suggest_authors(session, "00%") == [("Under_score 100%", 1)]
        assert names.suggest_authors(session, "n%s") == []  # nor is "%"


def test_hidden_papers_offer_no_names(database):
    seed(database, PEOPLE)
    with database.session() as session:
        session.query(Paper).filter(Paper.arxiv_id == "2508.10003").update({"hidden": True})
    with database.session() as session:
        assert names.suggest_authors(session, "heming") == []
        assert names.suggest_organizations(session, "zhejiang") == []


def test_what_was_typed_resolves_to_the_catalogs_spelling_or_is_reported(database):
    seed(database, PEOPLE)
    with database.session() as session:
        assert names.resolve_organizations(session, ["fair", "Zhejiang university", "FAIR", "Nowhere Labs"]) == (
            ["fair", "ZJU"], ["Nowhere Labs"])
        assert names.resolve_authors(session, ["kaiming he", "ROSS GIRSHICK", "Geoffrey Hinton"]) == (
            ["Kaiming He", "Ross Girshick"], ["Geoffrey Hinton"])
        assert names.organization_names(session, ["zju", "fair", "gone"]) == {"zju": "Zhejiang University", "fair": "FAIR"}


def test_names_beyond_the_recent_papers_are_still_found(database, monkeypatch):
    seed(database, PEOPLE)
    monkeypatch.setattr(names, "RECENT_PAPERS", 1)  # only the newest paper counts as recent
    with database.session() as session:
        assert names.suggest_authors(session, "kaiming") == []  # suggestions read recent papers only
        assert names.resolve_authors(session, ["Kaiming He"]) == (["Kaiming He"], [])  # a check reads them all
