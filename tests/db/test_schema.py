"""The migrations and the models describe the same schema, on whichever backend the suite runs."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from papertide.catalog.models import Paper
from papertide.catalog.record import MAX_URL, PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.schema import metadata
from papertide.search.models import is_keyword_index_table


def _not_fts(name, type_, parent_names) -> bool:
    return not (type_ == "table" and is_keyword_index_table(name))


def test_migrated_schema_matches_the_models(database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _not_fts})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_every_value_a_record_accepts_fits_its_column(database):
    """SQLite ignores VARCHAR lengths and PostgreSQL enforces them: the record's limits must fit both."""
    long_url = "https://github.com/" + "a" * (MAX_URL - len("https://github.com/"))
    record = PaperRecord.model_validate({
        "arxiv_id": "2405.15738v1000", "title": "T" * 1000, "abstract": "A" * 20_000,
        "authors": ["N" * 300] * 3, "categories": ["c" * 40], "primary_category": "p" * 40,
        "doi": "d" * 200, "github_repo": long_url, "project_page": long_url.replace("github", "gitlab"),
        "organization": {"slug": "s" * 100, "name": "n" * 300},
        "daily": {"date": "2024-05-27", "submitted_by": "u" * 100},
    })
    with database.session() as session:
        assert upsert_papers(session, [record]).added == 1
    with database.session() as session:
        stored = session.scalars(select(Paper)).one()
    assert (stored.github_repo, stored.doi, stored.authors) == (long_url, "d" * 200, ["N" * 300] * 3)


def test_json_values_round_trip_unchanged(database):
    authors = ["Zoë Ünïcode", "李雷", 'Quote "Mark"', "Back\\slash"]
    record = PaperRecord.model_validate({"arxiv_id": "2405.00001", "title": "t", "authors": authors, "ai_keywords": []})
    with database.session() as session:
        upsert_papers(session, [record])
    with database.session() as session:
        stored = session.scalars(select(Paper)).one()
    assert (stored.authors, stored.ai_keywords, stored.categories) == (authors, [], [])
