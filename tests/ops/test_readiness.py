"""/readyz: 503 with the failing check named until the database answers, its schema is current and
search is warmed up; 200 again once they are. /healthz stays a plain liveness check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from papertide.db import Database, alembic_config
from papertide.local_postgres import LocalPostgres, free_port
from papertide.schema_status import missing_sqlite_file
from tests.conftest import BACKEND
from tests.ops.helpers import served, wait_for

pytestmark = pytest.mark.slow


@contextmanager
def database_with_an_outage(make_database, directory: Path) -> Iterator[tuple[str, callable, callable]]:
    """A migrated database, and how to make it unreachable and reachable again: on PostgreSQL a
    server of the test's own that is stopped and started; on SQLite the file moved away and back."""
    if BACKEND == "postgres":
        server = LocalPostgres(port=free_port())  # its own folder: PostgreSQL runs as another user
        with server:
            admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool)
            with admin.connect() as connection:
                connection.exec_driver_sql("CREATE DATABASE papertide")
            database = Database(server.url("papertide"))
            database.migrate()
            database.dispose()
            yield server.url("papertide"), server.stop, server.start
        return
    database = make_database("sqlite")
    path = Path(database.engine.url.database)
    database.dispose()
    aside = path.with_name(path.name + ".moved")
    yield database.url, lambda: path.rename(aside), lambda: aside.rename(path)


def test_readyz_is_503_while_the_database_is_unreachable_and_200_again(make_database, tmp_path):
    with database_with_an_outage(make_database, tmp_path) as (url, break_it, mend_it):
        with served(url, tmp_path) as base:
            ready = wait_for(base + "/readyz", None, tmp_path / "serve.log").json()
            assert ready == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "search": "ok"}}
            break_it()
            down = httpx.get(base + "/readyz", timeout=30)
            assert down.status_code == 503, down.text
            assert down.json()["status"] == "not ready" and down.json()["checks"]["database"] != "ok"
            assert down.json()["checks"]["search"] == "ok"  # only what failed is named
            assert httpx.get(base + "/healthz").status_code == 200  # alive all the same
            if BACKEND == "sqlite":  # the probes did not create an empty database in its place
                assert missing_sqlite_file(url) is not None
            mend_it()
            again = wait_for(base + "/readyz", None, tmp_path / "serve.log", timeout=60)
            assert again.json()["checks"] == ready["checks"]


def test_readyz_names_a_schema_that_is_not_current_and_search_still_warming_up(database):
    from papertide.config import Settings
    from papertide.web.app import create_app

    app = create_app(Settings(database_url=database.url, secret_key="readiness-test"), database=database)
    with TestClient(app) as client:
        first = client.get("/readyz")  # nobody warmed this app up: the first probe starts it
        assert first.status_code == 503 and first.json()["checks"]["search"] == "warming up", first.text
        assert first.json()["checks"]["database"] == first.json()["checks"]["migrations"] == "ok"
        _poll(client, 200)
        config = alembic_config(database.url)
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0005_account_sessions")
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert "0005_account_sessions" in behind.json()["checks"]["migrations"], behind.text
        database.migrate()
        assert client.get("/readyz").status_code == 200


def _poll(client: TestClient, status: int, attempts: int = 1200) -> None:
    import time

    for _ in range(attempts):
        if client.get("/readyz").status_code == status:
            return
        time.sleep(0.1)  # polling interval while the model loads
    raise AssertionError(client.get("/readyz").text)
