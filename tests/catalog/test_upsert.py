from datetime import date, datetime, timezone

from sqlalchemy import select

from papertide.catalog.models import DailyEntry, Organization, Paper
from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.community.models import Comment, User, Vote


def record(**fields) -> PaperRecord:
    base = {"arxiv_id": "2405.15738", "title": "Original title", "abstract": "Original abstract.", "authors": ["A. Author"]}
    return PaperRecord.model_validate({**base, **fields})


def upsert(database, *records):
    with database.session() as session:
        return upsert_papers(session, list(records))


def paper(database, arxiv_id="2405.15738") -> Paper:
    with database.session() as session:
        return session.scalars(select(Paper).where(Paper.arxiv_id == arxiv_id)).one()


def test_ingesting_twice_changes_nothing(database):
    first = upsert(database, record(), record(arxiv_id="2405.00001", title="Other"))
    snapshot = paper(database).modified_at
    second = upsert(database, record(), record(arxiv_id="2405.00001", title="Other"))
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 2)
    assert paper(database).modified_at == snapshot


def test_newer_version_updates_text_and_keeps_votes_comments_and_daily_entry(database):
    upsert(database, record(version=1, daily={"date": "2024-05-27"}))
    with database.session() as session:
        stored = session.scalars(select(Paper)).one()
        user = User(username="reader", password_hash="x")
        session.add(user)
        session.flush()
        session.add_all([Vote(user_id=user.id, paper_id=stored.id), Comment(paper_id=stored.id, user_id=user.id, body="Nice")])
        stored.vote_count, stored.comment_count = 1, 1

    counts = upsert(database, record(version=2, title="Revised title", abstract="Revised.", authors=["A. Author", "B. Author"]))
    assert counts.updated == 1
    updated = paper(database)
    assert (updated.version, updated.title, updated.authors) == (2, "Revised title", ["A. Author", "B. Author"])
    assert (updated.vote_count, updated.comment_count) == (1, 1)
    with database.session() as session:
        assert session.scalar(select(DailyEntry.daily_date)) == date(2024, 5, 27)
        assert len(session.scalars(select(Vote)).all()) == 1


def test_older_or_unversioned_records_do_not_overwrite_versioned_text_but_enrich(database):
    upsert(database, record(version=3, title="Version three"))
    counts = upsert(
        database,
        record(version=2, title="Version two"),
        record(title="From Hugging Face", github_repo="https://github.com/org/repo",
               organization={"slug": "acme", "name": "ACME Labs"}, upvotes=12),
    )
    stored = paper(database)
    assert stored.title == "Version three"
    assert stored.github_repo == "https://github.com/org/repo"
    assert stored.imported_upvotes == 12
    assert (counts.unchanged, counts.updated) == (1, 1)
    with database.session() as session:
        assert session.scalar(select(Organization.name).where(Organization.id == stored.organization_id)) == "ACME Labs"


def test_imported_counts_only_grow(database):
    upsert(database, record(upvotes=30, num_comments=4))
    upsert(database, record(upvotes=10, num_comments=1))
    stored = paper(database)
    assert (stored.imported_upvotes, stored.imported_comments) == (30, 4)


def test_first_daily_day_wins_and_adding_a_day_counts_as_an_update(database):
    upsert(database, record())
    counts = upsert(database, record(daily={"date": "2025-01-02", "submitted_by": "akhaliq",
                                             "submitted_at": datetime(2025, 1, 2, 8, tzinfo=timezone.utc)}))
    assert counts.updated == 1
    upsert(database, record(daily={"date": "2025-03-04"}))
    with database.session() as session:
        entry = session.scalars(select(DailyEntry)).one()
    assert (entry.daily_date, entry.submitted_by_name) == (date(2025, 1, 2), "akhaliq")


def test_duplicates_within_one_batch_are_merged(database):
    counts = upsert(database, record(version=1), record(version=2, title="Second"))
    assert (counts.added, counts.updated) == (1, 1)
    assert paper(database).title == "Second"


def test_an_identical_duplicate_in_the_batch_of_a_new_paper_is_unchanged(database):
    counts = upsert(database, record(daily={"date": "2025-01-02"}), record(daily={"date": "2025-01-03"}))
    assert (counts.added, counts.updated, counts.unchanged) == (1, 0, 1)


def test_changes_bump_the_content_version_and_no_change_does_not(database):
    from papertide.catalog import versions

    with database.session() as session:
        before = versions.current(session)[0]
    upsert(database, record(version=1))
    with database.session() as session:
        after_add = versions.current(session)[0]
        paper_id = session.scalar(select(Paper.id))
        paper_before = versions.current(session, [versions.paper_key(paper_id)])[0]
    upsert(database, record(version=1))
    with database.session() as session:
        assert versions.current(session)[0] == after_add == before + 1  # unchanged: caches stay valid
    upsert(database, record(version=2, title="Revised"))
    with database.session() as session:
        assert versions.current(session)[0] == after_add + 1
        assert versions.current(session, [versions.paper_key(paper_id)])[0] == paper_before + 1
