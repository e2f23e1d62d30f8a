"""Shared fixtures: a real, migrated database per test, and the real data files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from papertide.db import Database

REPO = Path(__file__).resolve().parents[1]
DEMO_CORPUS = REPO / "data" / "demo" / "papers.jsonl.gz"
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """A freshly migrated SQLite file, made once and copied for each test (migrating is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture
def database(tmp_path, migrated_template) -> Database:
    """A real SQLite database with the full schema, private to one test."""
    path = tmp_path / "papertide.db"
    shutil.copy(migrated_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture
def database_url(database) -> str:
    return database.url
