"""Settings through the real command line: a bad value is one clear line and exit status 2 for
every command, secrets never show, and read-only commands never create a database."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.ops.helpers import clean_environment, papertide

# Commands that load the settings and then do quite different things (read, write, serve, send).
COMMANDS = [("stats",), ("init",), ("search", "attention"), ("serve", "--port", "1"), ("digest", "run"),
            ("config", "show"), ("config", "check"), ("harvest", "hf", "--date", "2025-08-21")]


def assert_one_line_error(done: subprocess.CompletedProcess, *expected: str) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr  # one line: no traceback, no help text
    assert lines[0].startswith("papertide: invalid setting: "), lines[0]
    for part in expected:
        assert part in lines[0], lines[0]
    assert done.stdout == ""
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_port_that_is_not_a_number_stops_every_command_with_one_line(command, tmp_path):
    done = papertide(*command, cwd=tmp_path, env=clean_environment(PAPERTIDE_SMTP_PORT="abc"))
    assert_one_line_error(done, "PAPERTIDE_SMTP_PORT='abc'", "valid integer")
    assert list(tmp_path.iterdir()) == []  # nothing was created on the way


@pytest.mark.parametrize(("url", "expected"), [
    ("nosuchdb://papers.example.org/papertide", "SQLAlchemy knows no database called 'nosuchdb'"),
    ("mysql://papertide@127.0.0.1/papertide", "papertide runs on SQLite or PostgreSQL, not mysql"),
    ("postgresql+psycopg2://papertide:hunter2@127.0.0.1/papertide", "postgresql+psycopg://"),
    ("not a url at all", "not a database URL"),
])
def test_a_database_url_papertide_cannot_use_is_refused(url, expected, tmp_path):
    line = assert_one_line_error(papertide("stats", cwd=tmp_path, env=clean_environment(PAPERTIDE_DATABASE_URL=url)),
                                 "PAPERTIDE_DATABASE_URL=", expected)
    assert "hunter2" not in line  # the password of a URL is never printed


@pytest.fixture(scope="module")
def python_without_postgres_extra(tmp_path_factory) -> str:
    """A real Python environment with everything papertide needs except the postgres extra
    (psycopg, pgvector): a venv whose site-packages holds the test environment's packages but those."""
    venv = tmp_path_factory.mktemp("no-postgres-extra") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    source = Path(sysconfig.get_paths()["purelib"])
    for entry in source.iterdir():
        if not entry.name.lower().startswith(("psycopg", "pgvector")) and not (target / entry.name).exists():
            (target / entry.name).symlink_to(entry)
    return str(venv / "bin" / "python")


def test_a_postgresql_url_without_the_postgres_extra_says_how_to_install_it(python_without_postgres_extra, tmp_path):
    url = "postgresql+psycopg://papertide:secret@127.0.0.1:5432/papertide"
    for command in (("stats",), ("config", "check"), ("init",)):
        done = papertide(*command, cwd=tmp_path, env=clean_environment(PAPERTIDE_DATABASE_URL=url),
                         python=python_without_postgres_extra)
        assert_one_line_error(done, "postgres extra", "psycopg, pgvector not installed", "pip install 'papertide[postgres]'")
    # The same environment runs papertide on SQLite: the extra is what is missing, nothing else.
    done = papertide("init", cwd=tmp_path, env=clean_environment(), python=python_without_postgres_extra)
    assert done.returncode == 0, done.stderr


def test_bad_values_in_the_toml_file_and_in_dotenv_name_their_file(tmp_path):
    env = clean_environment()
    (tmp_path / "papertide.toml").write_text("smtp_prot = 587\n")
    assert_one_line_error(papertide("config", "check", cwd=tmp_path, env=env), "smtp_prot (papertide.toml): unknown setting")
    (tmp_path / "papertide.toml").write_text('digest_time = "7 o\'clock"\n')
    assert_one_line_error(papertide("stats", cwd=tmp_path, env=env), "digest_time=", "(papertide.toml)", "HH:MM")
    (tmp_path / "papertide.toml").write_text("smtp_port = [\n")
    assert_one_line_error(papertide("stats", cwd=tmp_path, env=env), "papertide.toml: not valid TOML")
    (tmp_path / "papertide.toml").unlink()
    (tmp_path / ".env").write_text("PAPERTIDE_DIGEST_TIMEZONE=Mars/Olympus_Mons\nUNRELATED=1\n")
    assert_one_line_error(papertide("stats", cwd=tmp_path, env=env), "PAPERTIDE_DIGEST_TIMEZONE=", "(.env)", "time zone")
    (tmp_path / ".env").unlink()
    missing = tmp_path / "elsewhere.toml"
    assert_one_line_error(papertide("stats", cwd=tmp_path, env={**env, "PAPERTIDE_CONFIG": str(missing)}),
                          f"PAPERTIDE_CONFIG={missing}: no such file")


def test_config_show_prints_where_each_setting_came_from_and_masks_secrets(tmp_path):
    database = tmp_path / "papers.db"
    assert papertide("init", cwd=tmp_path, env=clean_environment(PAPERTIDE_DATABASE_URL=f"sqlite:///{database}")).returncode == 0
    (tmp_path / "papertide.toml").write_text(f'database_url = "sqlite:///{database}"\nsmtp_port = 587\n'
                                             'smtp_password = "toml-smtp-secret"\n')
    (tmp_path / ".env").write_text("PAPERTIDE_SITE_NAME=Lab papers\n")
    env = clean_environment(PAPERTIDE_SECRET_KEY="env-secret-key-value", PAPERTIDE_SMTP_PORT="2525",
                            PAPERTIDE_METRICS_TOKEN="env-metrics-token")
    text = papertide("config", "show", cwd=tmp_path, env=env)
    as_json = papertide("config", "show", "--json", cwd=tmp_path, env=env)
    assert text.returncode == 0 and as_json.returncode == 0, text.stderr + as_json.stderr
    for secret in ("env-secret-key-value", "toml-smtp-secret", "env-metrics-token"):
        assert secret not in text.stdout + text.stderr + as_json.stdout + as_json.stderr
    shown = json.loads(as_json.stdout)
    assert shown["secret_key"] == shown["smtp_password"] == shown["metrics_token"] == "********"
    assert shown["smtp_port"] == 2525  # the environment wins over the file
    assert shown["site_name"] == "Lab papers" and shown["database_url"] == f"sqlite:///{database}"
    lines = {line.split("=", 1)[0].strip(): line for line in text.stdout.splitlines()}
    assert lines["smtp_port"].endswith("# environment") and lines["site_name"].endswith("# PAPERTIDE_SITE_NAME in .env")
    assert lines["smtp_password"].endswith("# papertide.toml") and lines["mail_from"].endswith("# default")
    check = papertide("config", "check", cwd=tmp_path, env=env)
    assert check.returncode == 0 and "database: ready" in check.stdout, check.stdout + check.stderr


@pytest.mark.parametrize("command", [("stats",), ("stats", "--json"), ("search", "attention"), ("config", "show")], ids=" ".join)
def test_read_only_commands_on_a_missing_database_create_nothing(command, tmp_path):
    mistyped = tmp_path / "typo" / "papertide.db"
    done = papertide(*command, cwd=tmp_path, env=clean_environment(PAPERTIDE_DATABASE_URL=f"sqlite:///{mistyped}"))
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert f"no database at {mistyped}" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # neither the file nor its folder


def test_read_only_commands_refuse_a_database_whose_schema_is_not_current(database, tmp_path):
    from alembic import command
    from sqlalchemy import text

    from papertide.db import alembic_config

    config = alembic_config(database.url)
    with database.engine.begin() as connection:  # as if this papertide were newer than the database
        config.attributes["connection"] = connection
        command.downgrade(config, "0005_account_sessions")
    env = clean_environment(PAPERTIDE_DATABASE_URL=database.url)
    done = papertide("stats", cwd=tmp_path, env=env)
    assert done.returncode == 1 and "0005_account_sessions" in done.stderr and "papertide init" in done.stderr, done.stderr
    with database.engine.connect() as connection:  # stats did not migrate it
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0005_account_sessions"
    assert papertide("init", cwd=tmp_path, env=env).returncode == 0
    done = papertide("stats", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 0 and json.loads(done.stdout)["papers"] == 0, done.stderr
