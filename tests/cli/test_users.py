"""``papertide users``: accounts and moderators from the command line, on a real database."""

from __future__ import annotations

from click.testing import CliRunner

from papertide.cli import main
from papertide.community import accounts


def run(database_url, *args, **env):
    """Invoke the command with its own environment; the process-wide settings and database it
    caches are dropped afterwards so that no other test sees them."""
    from papertide.config import get_settings
    from papertide.db import get_database

    get_settings.cache_clear()
    get_database.cache_clear()
    try:
        return CliRunner().invoke(main, list(args), env={"PAPERTIDE_DATABASE_URL": database_url, **env})
    finally:
        get_settings.cache_clear()
        get_database.cache_clear()


def test_add_a_moderator_then_revoke(database, database_url):
    added = run(database_url, "users", "add", "grace", "--admin", PAPERTIDE_NEW_USER_PASSWORD="a long password")
    assert added.exit_code == 0, added.output
    with database.session() as session:
        assert accounts.authenticate(session, "grace", "a long password").is_admin
    revoked = run(database_url, "users", "admin", "grace", "--revoke")
    assert revoked.exit_code == 0 and "no longer a moderator" in revoked.output
    with database.session() as session:
        assert not accounts.get_user_by_name(session, "grace").is_admin


def test_errors_are_one_clear_line(database_url):
    short = run(database_url, "users", "add", "grace", PAPERTIDE_NEW_USER_PASSWORD="short")
    assert short.exit_code == 1 and "a password is 8 to 256 characters" in short.output
    missing = run(database_url, "users", "admin", "nobody")
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output
