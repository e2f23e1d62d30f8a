"""What a reader follows must exist: organisations and authors are checked against the catalog
before a subscription keeps them, and stored as the catalog spells them.

A typo used to be saved silently and then matched nothing, digest after digest. Now an unknown
name is refused with a message that says which, and the forms offer the catalog's names as the
reader types (``web.suggest``).
"""

from __future__ import annotations

from papertide.catalog import names
from papertide.db import Database
from papertide.digest.subscriptions import Preferences, SubscriptionError


class UnknownInterests(SubscriptionError):
    """An organisation or author that the catalog does not have (the API answers 404: the request
    was well formed, what it names is not here)."""


def _quoted(values: list[str]) -> str:
    return ", ".join(f"“{value}”" for value in values)


def check_interests(database: Database, preferences: Preferences) -> Preferences:
    """``preferences`` with organisations as slugs (a name may be given) and authors as the
    catalog spells them; ``SubscriptionError`` naming whatever matches nothing."""
    if not (preferences.organizations or preferences.authors):
        return preferences
    with database.session() as session:
        slugs, unknown_organizations = names.resolve_organizations(session, preferences.organizations)
        authors, unknown_authors = names.resolve_authors(session, preferences.authors)
    problems = []
    if unknown_organizations:
        problems.append(f"no organisation called {_quoted(unknown_organizations)} has papers here")
    if unknown_authors:
        problems.append(f"no paper here lists {_quoted(unknown_authors)} as an author")
    if problems:
        message = "; ".join(problems)
        raise UnknownInterests(f"{message[0].upper()}{message[1:]}. Pick from the suggestions as you type.")
    return preferences.model_copy(update={"organizations": [slug.lower() for slug in slugs], "authors": authors})


def organization_names(database: Database, slugs: list[str]) -> dict[str, str]:
    """Lower-cased slug -> name, to show followed organisations by name."""
    with database.session() as session:
        return names.organization_names(session, slugs)
