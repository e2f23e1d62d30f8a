"""``papertide config show|check``: the effective settings, and whether they can work.

Invalid settings never reach these commands: the ``papertide`` group loads them first and stops
with one line and exit status 2 (see ``papertide.cli.main``).
"""

from __future__ import annotations

import json

import click
from sqlalchemy.engine import make_url

from papertide.config import MASK, Settings, config_file, get_settings, is_secret, read_sources
from papertide.db import get_database
from papertide.schema_status import missing_sqlite_file, schema_state


def shown_settings(settings: Settings) -> dict[str, object]:
    """Every setting's value as ``config show`` prints it: secrets masked, the URL's password hidden."""
    shown: dict[str, object] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name == "secret_key" and not settings.secret_key_configured:
            value = "(random for each process: set PAPERTIDE_SECRET_KEY)"
        elif is_secret(name):
            value = MASK if value else ""
        elif name == "database_url":
            value = make_url(value).render_as_string(hide_password=True)
        shown[name] = value
    return shown


def database_problem(url: str) -> str | None:
    """Why the configured database cannot serve yet (None: it can), found without changing it."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        return f"no database at {missing} (`papertide init` creates it)"
    database = get_database(url)
    try:
        with database.engine.connect() as connection:
            return schema_state(connection).problem()
    except Exception as error:  # noqa: BLE001 - unreachable, refused, not a database: reported, not raised
        return f"cannot connect to {database.display_url}: {str(error).splitlines()[0]}"


@click.group()
def config() -> None:
    """Show or check the settings (PAPERTIDE_* variables, .env, papertide.toml)."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object of setting: value.")
def show(as_json: bool) -> None:
    """Print the effective settings, secrets masked, and where each came from.

    Exit status 1 when the database they name is not there (nothing is created)."""
    settings = get_settings()
    shown = shown_settings(settings)
    if as_json:
        click.echo(json.dumps(shown))
    else:
        _, origins = read_sources()
        width = max(map(len, shown))
        for name, value in shown.items():
            label, place = origins.get(name, (None, "default"))
            click.echo(f"{name:<{width}} = {json.dumps(value)}  # {place if place != '.env' else label + ' in .env'}")
    problem = database_problem(settings.database_url)
    if problem:
        raise click.ClickException(f"database: {problem}")


@config.command("check")
def check() -> None:
    """Validate the settings and say whether the database is ready (exit 0 only if all is well)."""
    settings = get_settings()
    path = config_file()
    click.echo(f"settings: valid ({'from ' + str(path) + ' and' if path else 'from'} the environment)")
    if not settings.secret_key_configured:
        click.echo("warning: PAPERTIDE_SECRET_KEY is not set: sessions end on restart and workers disagree", err=True)
    problem = database_problem(settings.database_url)
    if problem:
        raise click.ClickException(f"database: {problem}")
    click.echo(f"database: ready ({get_database(settings.database_url).display_url}, schema current)")
