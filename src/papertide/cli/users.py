"""``papertide users``: create accounts and appoint moderators from the command line.

The first moderator of a new site has to come from somewhere: ``papertide users add NAME --admin``.
"""

from __future__ import annotations

import click

from papertide.cli.common import open_database
from papertide.community import accounts
from papertide.community.errors import CommunityError


@click.group()
def users() -> None:
    """Manage accounts and moderators."""


@users.command("add")
@click.argument("username")
@click.option("--email", default=None, help="Optional email address.")
@click.option("--admin", is_flag=True, help="Make the account a moderator.")
@click.password_option(envvar="PAPERTIDE_NEW_USER_PASSWORD", help="Prompted for when not given (or set PAPERTIDE_NEW_USER_PASSWORD).")
def add(username: str, email: str | None, admin: bool, password: str) -> None:
    """Create the account USERNAME."""
    database = open_database()
    try:
        with database.session() as session:
            account = accounts.sign_up(session, username, password, email, is_admin=admin)
    except CommunityError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created {account.username}{' (moderator)' if admin else ''}")


@users.command("admin")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take moderator rights away instead.")
def admin(username: str, revoke: bool) -> None:
    """Make USERNAME a moderator (or, with --revoke, no longer one)."""
    database = open_database()
    try:
        with database.session() as session:
            account = accounts.set_admin(session, username, not revoke)
    except CommunityError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{account.username} is {'now' if account.is_admin else 'no longer'} a moderator")
