"""On PostgreSQL each app keeps the content version in memory, current through LISTEN/NOTIFY.

Two app instances with their own engines (as two worker processes have) on one real PostgreSQL
database; no sleeps: every wait is on the listener's condition with a timeout. The listener
itself (a killed connection, a rollback, a process's own changes) is tested in
tests/catalog/test_version_listener.py.
"""

from __future__ import annotations

import re
import threading

import pytest
from fastapi.testclient import TestClient

from papertide.catalog import versions
from papertide.catalog.version_listener import ListeningReader
from papertide.db import Database
from papertide.web.app import content_version
from tests.catalog.helpers import NOW, seed
from tests.web.helpers import Visitor, build_app, settings_for

WAIT = 10.0  # seconds: generous, for a loaded machine; each wait ends as soon as its condition holds


def listener_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("papertide-listener")]


def upvotes(client: TestClient) -> tuple[int, str]:
    page = client.get("/?date=2025-08-21")
    match = re.search(r'data-testid="votes-2508.00005" data-count="(\d+)"', page.text)
    return int(match[1]), page.headers["x-cache"]


@pytest.mark.postgres
def test_a_vote_through_one_app_reaches_the_other_apps_cached_page_once_notified(make_database):
    pg = make_database("postgres")
    seed(pg)
    other_process = Database(pg.url)  # its own engine and pool, as another worker process has
    first = build_app(settings_for(pg), pg, clock=lambda: NOW)
    second = build_app(settings_for(other_process), other_process, clock=lambda: NOW)
    try:
        with TestClient(first, base_url="http://testserver") as one, TestClient(second, base_url="http://testserver") as two:
            watching = second.state.content_version
            assert isinstance(watching, ListeningReader) and watching.wait_until(lambda r: r.listening, WAIT)
            assert upvotes(two) == (8, "miss") and upvotes(two) == (8, "hit")
            before = watching.remembered
            voter = Visitor(one)
            voter.sign_up("voter")
            assert voter.vote("2508.00005").json()["upvotes"] == 9
            with pg.session() as session:
                after = versions.content_version(session)
            assert after > before
            assert watching.wait_until(lambda r: r.remembered >= after, WAIT), "no notification reached the other app"
            assert upvotes(two) == (9, "miss") and upvotes(two) == (9, "hit")
            assert listener_threads()
        assert not listener_threads(), "the listeners outlived their apps"
        assert not watching.listening and watching() == after  # stopped: it reads the database again
    finally:
        other_process.dispose()


def test_the_listening_reader_is_chosen_on_postgresql_unless_turned_off(database):
    settings = settings_for(database)
    chosen = content_version(database, settings)
    assert isinstance(chosen, ListeningReader) == (database.engine.dialect.name == "postgresql")
    assert not isinstance(content_version(database, settings.with_changes(listen_versions=False)), ListeningReader)
    assert chosen() == 0  # not started: it reads the database
