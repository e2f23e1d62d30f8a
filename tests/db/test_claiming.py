"""The outbox-claiming recipe of docs/architecture.md: two schedulers never claim the same digest."""

from sqlalchemy import select

from papertide.db import begin_write
from papertide.digest.models import DigestOutbox, Subscription


def pending_digests(database, count=10):
    with database.session() as session:
        subscription = Subscription(email="reader@example.org", status="confirmed")
        session.add(subscription)
        session.flush()
        session.add_all(DigestOutbox(subscription_id=subscription.id, period_key=f"daily:2026-11-{day:02d}")
                        for day in range(1, count + 1))


def claim(session, worker: str, limit: int = 6) -> list[int]:
    begin_write(session)  # SQLite: its one write lock; PostgreSQL: nothing, FOR UPDATE locks the rows
    rows = session.scalars(
        select(DigestOutbox).where(DigestOutbox.status == "pending").order_by(DigestOutbox.id).limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.status, row.claimed_by = "sending", worker
    session.flush()
    return [row.id for row in rows]


def test_two_schedulers_claim_disjoint_digests(database):
    pending_digests(database)
    first = database._sessions()
    second = database._sessions()
    try:
        if database.engine.dialect.name == "postgresql":
            # Both transactions open at once: the second skips the rows the first holds.
            mine = claim(first, "a")
            theirs = claim(second, "b")
            first.commit()
            second.commit()
        else:
            # SQLite has one writer: the second claim waits for the first to commit, then sees its marks.
            mine = claim(first, "a")
            first.commit()
            theirs = claim(second, "b")
            second.commit()
    finally:
        first.close()
        second.close()
    assert len(mine) == 6 and len(theirs) == 4
    assert set(mine).isdisjoint(theirs)
    with database.session() as session:
        claimed = dict(session.execute(select(DigestOutbox.id, DigestOutbox.claimed_by)).all())
    assert sorted(claimed) == sorted(mine + theirs)
    assert {claimed[i] for i in mine} == {"a"} and {claimed[i] for i in theirs} == {"b"}
