"""``papertide db copy``: a whole installation moves SQLite -> PostgreSQL -> SQLite unchanged."""

import gzip
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from papertide.catalog.models import HarvestCheckpoint, Organization, OrganizationAlias, Paper, PaperThumbnail, SourcePacing
from papertide.community import collections, follows
from papertide.community.models import (AccountSession, ApiToken, Collection, CollectionItem, Comment, Follow, ModerationAction,
                                        PasswordResetToken, QueuedSubmission, RateLimitEvent, User, Vote)
from papertide.db_copy import CopyError, copy_database
from papertide.digest.models import DigestOutbox, Subscription
from papertide.ingest.jsonl import JsonlSource
from papertide.ingest.runner import ingest
from papertide.schema import metadata
from papertide.search.semantic.models import PaperEmbedding
from papertide.worker.models import EmbeddingClaim, JobRun, WorkerJob
from tests.conftest import DEMO_CORPUS

pytestmark = pytest.mark.postgres

WHEN = datetime(2026, 11, 24, 6, 30, 15, 123456, tzinfo=timezone.utc)


def fill(database, tmp_path, papers=300):
    """A small installation with a row in every table."""
    source = tmp_path / "papers.jsonl"
    with gzip.open(DEMO_CORPUS, "rt", encoding="utf-8") as lines:
        source.write_text("".join(next(lines) for _ in range(papers)), encoding="utf-8")
    ingest(database, JsonlSource(source), progress=False)
    with database.session() as session:
        paper_ids = session.scalars(select(Paper.id).order_by(Paper.id).limit(3)).all()
        acme = Organization(slug="acme", name="ACME Labs")
        session.get(Paper, paper_ids[0]).organization = acme
        session.flush()
        session.add_all(OrganizationAlias(key=key, organization_id=acme.id) for key in ("id:acme", "name:acme labs"))
        users = [User(username=f"reader{i}", email=f"r{i}@example.org", password_hash="$argon2id$x", created_at=WHEN)
                 for i in range(3)]
        session.add_all(users)
        session.flush()
        session.add_all(Vote(user_id=u.id, paper_id=p, created_at=WHEN) for u in users for p in paper_ids)
        root = Comment(paper_id=paper_ids[0], user_id=users[0].id, body="Nice **work**", created_at=WHEN)
        session.add(root)
        session.flush()
        session.add(Comment(paper_id=paper_ids[0], user_id=users[1].id, parent_id=root.id, body="Agreed ✓", hidden=True))
        session.add(ModerationAction(moderator_id=users[2].id, action="hide_comment", target_type="comment",
                                     target_id=root.id + 1, reason="spam"))
        subscription = Subscription(email="r0@example.org", user_id=users[0].id, status="confirmed",
                                    topics=["diffusion", "agents"], follow_authors=["Zoë"], confirmed_at=WHEN)
        session.add(subscription)
        session.flush()
        session.add(DigestOutbox(subscription_id=subscription.id, period_key="daily:2026-11-24", status="sent",
                                 paper_ids=paper_ids, sent_at=WHEN))
        session.add(HarvestCheckpoint(key="oai:cs", state={"token": "abc|123", "count": 7}))
        session.add(SourcePacing(host="export.arxiv.org", next_request_at=1_795_000_000.25))
        session.add(PaperEmbedding(paper_id=paper_ids[0], model="test-model", text_hash="0" * 32, vector=bytes(range(256)) * 3))
        session.add(RateLimitEvent(key="vote:user:1", created_at=WHEN))
        session.add(EmbeddingClaim(paper_id=paper_ids[1], model="test-model", holder="host:2:cd", lease_expires_at=WHEN))
        session.add(WorkerJob(name="source:hf-daily", next_run_at=WHEN, requests=1, served=0, failures=2, last_error="HTTP 503"))
        session.add(JobRun(job="source:hf-daily", slot=WHEN, holder="host:1:ab", started_at=WHEN, status="failed", added=3,
                           updated=0, error="HTTP 503"))
        session.add(Follow(user_id=users[0].id, kind="author", key="zoe unal", name="Zoë Ünal", created_at=WHEN))
        session.add(Follow(user_id=users[0].id, kind="organization", key="acme", name="ACME Labs", created_at=WHEN))
        shelf = Collection(public_id="Zm9yIHRoZSByZWNvcmQ_x1", user_id=users[1].id, name="Reading group ✓",
                           description="Week 12", shared=True, created_at=WHEN, updated_at=WHEN)
        session.add(shelf)
        session.flush()
        session.add_all(CollectionItem(collection_id=shelf.id, paper_id=p, added_at=WHEN) for p in paper_ids)
        session.add(PaperThumbnail(paper_id=paper_ids[0], status="done", file=f"{paper_ids[0]}-0123456789ab.webp",
                                   width=360, height=466, attempts=1, updated_at=WHEN))
        session.add(AccountSession(user_id=users[0].id, key_hash="a" * 64, created_at=WHEN))
        session.add(ApiToken(user_id=users[1].id, name="nightly ✓", scope="write", token_hash="b" * 64, hint="pt_3kQ9",
                             created_at=WHEN, last_used_at=WHEN))
        session.add(PasswordResetToken(user_id=users[2].id, token_hash="c" * 64, created_at=WHEN, expires_at=WHEN))
        session.add(QueuedSubmission(user_id=users[0].id, arxiv_id="1605.08386", requested_at=WHEN, status="queued",
                                     attempts=2, last_error="arXiv answered 503 ✗", next_attempt_at=WHEN))


def everything(database) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    with database.engine.connect() as connection:
        return {
            table.name: [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
            for table in metadata.sorted_tables
        }


def test_round_trip_sqlite_postgres_sqlite_keeps_every_row(make_database, tmp_path):
    original, middle, back = make_database("sqlite"), make_database("postgres"), make_database("sqlite")
    fill(original, tmp_path)

    counts = copy_database(original, middle, progress=False)
    copy_database(middle, back, progress=False)

    assert all(c.matches for c in counts)
    assert {c.table: c.source for c in counts}["papers"] == 300
    rows = everything(original)
    assert [name for name in rows if not rows[name]] == [], "the fixture should fill every table"
    assert everything(middle) == rows
    assert everything(back) == rows


def test_follows_and_collections_read_the_same_after_a_copy(make_database, tmp_path):
    original, target = make_database("sqlite"), make_database("postgres")
    fill(original, tmp_path, papers=20)
    copy_database(original, target, progress=False)
    for database in (original, target):
        with database.session() as session:
            reader, owner = (session.scalar(select(User.id).where(User.username == n)) for n in ("reader0", "reader1"))
            assert [(f.kind, f.name) for f in follows.following(session, reader)] == [
                ("author", "Zoë Ünal"), ("organization", "ACME Labs")]
            assert follows.is_following(session, reader, "author", "zoe unal")
            shelf = collections.readable_collection(session, "Zm9yIHRoZSByZWNvcmQ_x1", None)
            assert (shelf.name, shelf.owner, shelf.count, shelf.shared) == ("Reading group ✓", "reader1", 3, True)
            assert [c.name for c in collections.list_collections(session, owner)] == ["Reading group ✓"]


def test_new_rows_after_a_copy_to_postgres_get_fresh_ids(make_database, tmp_path):
    original, target = make_database("sqlite"), make_database("postgres")
    fill(original, tmp_path, papers=20)
    copy_database(original, target, progress=False)
    with target.session() as session:
        user = User(username="newcomer", password_hash="x")
        session.add(user)
        session.flush()
        assert user.id == session.scalar(select(func.max(User.id)))
        assert user.id > 3


def test_a_non_empty_target_is_refused_unless_forced(make_database, tmp_path):
    first, second, target = make_database("sqlite"), make_database("sqlite"), make_database("postgres")
    fill(first, tmp_path, papers=30)
    copy_database(first, target, progress=False)
    fill(second, tmp_path, papers=10)

    with pytest.raises(CopyError, match="already holds rows in .*papers"):
        copy_database(second, target, progress=False)
    assert everything(target) == everything(first)

    copy_database(second, target, force=True, progress=False)
    assert everything(target) == everything(second)


def test_a_source_behind_the_current_schema_is_refused(make_database, tmp_path):
    source, target = make_database("sqlite"), make_database("postgres")
    with source.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM alembic_version")
    with pytest.raises(CopyError, match="schema revision none"):
        copy_database(source, target, progress=False)


def test_command_line_copies_and_prints_verified_counts(make_database, tmp_path):
    source, target = make_database("sqlite"), make_database("postgres")
    fill(source, tmp_path, papers=50)
    command = [sys.executable, "-m", "papertide", "db", "copy", "--from", source.url, "--to", target.url, "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "papers" in done.stdout and "50 ->           50  ok" in done.stdout
    assert everything(target) == everything(source)

    again = subprocess.run(command, capture_output=True, text=True, env=os.environ, timeout=120)
    assert again.returncode == 1
    assert "--force" in again.stderr
