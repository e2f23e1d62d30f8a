"""Search runs on SQLite only for now (FTS5 keyword index; PostgreSQL tsvector is not written yet),
so every search test is marked ``sqlite_only`` and skipped from the PostgreSQL run of the suite."""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/search/" in str(item.fspath):
            item.add_marker(pytest.mark.sqlite_only)
