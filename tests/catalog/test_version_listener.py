"""The content version kept in memory through LISTEN/NOTIFY (``catalog.version_listener``).

Real PostgreSQL, no sleeps: every wait is on the listener's condition (``wait_until``) with a
timeout; the bumps that must be heard come through another engine, as another process's would.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from papertide.catalog import versions
from papertide.catalog.version_listener import ListeningReader
from papertide.db import Database

WAIT = 10.0  # seconds: generous, for a loaded machine; each wait ends as soon as its condition holds


def bump(database: Database, *keys: str) -> int:
    """Bump (the catalog by default) in one transaction; the catalog's version after it."""
    with database.session() as session:
        versions.bump(session, *(keys or (versions.CATALOG,)))
    with database.session() as session:
        return versions.content_version(session)


@pytest.fixture
def pg(make_database) -> Database:
    return make_database("postgres")


@pytest.fixture
def listener(pg):
    reader = ListeningReader(pg.engine, backoff=(2.0, 2.0))  # a reconnect waits 2 s: the test sees it down
    reader.start()
    assert reader.wait_until(lambda r: r.listening, WAIT)
    yield reader
    reader.stop()


@pytest.mark.postgres
def test_a_killed_listener_falls_back_to_the_database_at_once_then_listens_again(pg, listener):
    start = bump(pg)
    assert listener.wait_until(lambda r: r.remembered == start, WAIT)
    killed = listener.backend_pid
    admin = create_engine(pg.url, poolclass=NullPool)
    try:
        with admin.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": killed}).scalar()
        assert listener.wait_until(lambda r: not r.listening, WAIT)
        # While it is down (its reconnect waits 2 s), a change made elsewhere is read at once.
        with admin.begin() as connection:
            connection.execute(text("UPDATE content_versions SET version = version + 1 WHERE key = 'catalog'"))
        assert listener() == start + 1
        assert listener.connections == 1 and not listener.listening  # that answer came from the database
        # Then it reconnects, listens, reads what it missed, and follows notifications again.
        assert listener.wait_until(lambda r: r.connections == 2 and r.listening, WAIT)
        assert listener.backend_pid not in (None, killed)
        assert listener.remembered == start + 1
        later = bump(other := Database(pg.url))
        other.dispose()
        assert listener.wait_until(lambda r: r.remembered == later == start + 2, WAIT)
        assert listener() == later
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_a_rolled_back_bump_notifies_nobody(pg, listener):
    start = listener.remembered
    with pytest.raises(RuntimeError):
        with pg.session() as session:
            versions.bump(session, versions.CATALOG)
            raise RuntimeError("changed my mind")
    assert listener() == start and listener.remembered == start
    # Two committed bumps after it: notifications come in commit order, so once the second is
    # here, a notification of the rolled-back one would have come before them.
    heard = listener.notifications
    bump(pg)
    last = bump(pg)
    assert last == start + 2
    assert listener.wait_until(lambda r: r.remembered == last, WAIT)
    assert listener.notifications == heard + 2


@pytest.mark.postgres
def test_a_process_reads_its_own_change_at_once_without_waiting_for_its_notification(pg, listener):
    start = listener.remembered
    for n in range(1, 21):
        assert bump(pg) == start + n
        assert listener() == start + n  # a commit through the reader's own engine: never behind
    assert listener.wait_until(lambda r: r.remembered == start + 20, WAIT)


@pytest.mark.postgres
def test_bumps_of_other_keys_do_not_move_the_version(pg, listener):
    start = listener.remembered
    bump(pg, versions.paper_key(1))
    last = bump(pg)
    assert listener.wait_until(lambda r: r.remembered == last, WAIT) and last == start + 1


@pytest.mark.postgres
def test_only_listened_keys_are_notified_so_a_batch_of_papers_sends_one_notification(pg):
    import psycopg

    with psycopg.connect(pg.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as connection:
        connection.execute(f"LISTEN {versions.CHANNEL}")
        with pg.session() as session:  # as ingest does: the catalog and a key per changed paper
            versions.bump(session, versions.CATALOG, *(versions.paper_key(n) for n in range(1, 501)))
        payloads = [notify.payload for notify in connection.notifies(timeout=WAIT, stop_after=1)]
        payloads += [notify.payload for notify in connection.notifies(timeout=0)]  # anything else already here
    assert [payload.rpartition(":")[0] for payload in payloads] == [versions.CATALOG]


def test_a_reader_of_a_key_nobody_notifies_is_refused():
    with pytest.raises(ValueError, match="no notification"):
        ListeningReader(create_engine("postgresql+psycopg://nobody@localhost/none"), versions.paper_key(1))
