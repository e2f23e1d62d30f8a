"""Turning a template and a context into an HTML response, for pages, actions (htmx fragments),
the digest's pages and the error pages alike, so it sits beside them rather than inside ``pages``.

One Jinja2 environment for the whole site, autoescaping everything (a paper title or a comment
can never become markup), compiled once per process. The filters here are the small
formatting rules every page shares: how a date, a count or an author list is shown.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined
from markupsafe import Markup, escape

from papertide.catalog.paper_ids import is_arxiv_key
from papertide.config import get_settings
from papertide.web.security import csrf_token
from papertide.web.session import current_user, pop_flashes
from papertide.web.slots import choose, holds

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
AVATAR_COLOURS = 8


def compact(number: int | None) -> str:
    """1234 -> '1.2k', as on every count in a list; exact numbers stay in titles."""
    number = number or 0
    if abs(number) < 1000:
        return str(number)
    if abs(number) < 10_000:
        return f"{number / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    if abs(number) < 1_000_000:
        return f"{number // 1000}k"
    return f"{number / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


def author_line(authors: Sequence[str], shown: int = 3, query: str = "") -> Markup:
    """'Ada Lovelace, Alan Turing +5 authors': the first few names (each a link to its author
    page) and how many more. With a
    search ``query``, the authors it names are marked, and shown even when they come later
    ('Ada Lovelace … <mark>Grace Hopper</mark> +4 authors'): a card must show who was searched for."""
    authors = list(authors or [])
    matched = matched_authors(authors, query)
    later = [i for i in sorted(matched) if i >= shown]
    names = [_author(authors[i], i in matched) for i in range(min(shown, len(authors)))]
    line = ", ".join(names)
    if later:
        line += " … " + ", ".join(_author(authors[i], True) for i in later)
    hidden = len(authors) - len(names) - len(later)
    return Markup(line + (f" +{hidden} author{'s' if hidden != 1 else ''}" if hidden > 0 else ""))


def _author(name: str, matched: bool) -> str:
    """A name linked to its author page, marked when the search named it: HTML, every value
    escaped here (``escape`` in an f-string, not ``Markup.format``: a card shows up to three names
    and the formatter cost 11 µs a name against 2.6)."""
    link = f'<a href="{escape(author_url(name))}">{escape(name)}</a>'
    return f"<mark>{link}</mark>" if matched else link


def _folded(text: str) -> str:
    return " ".join((text or "").casefold().split())


def matched_authors(authors: Sequence[str], query: str) -> set[int]:
    """The positions of the authors a search for ``query`` names: the whole name or, for a
    one-word query, the surname; case and spacing aside. Deliberately plain: it decides which
    names a card shows, not which papers match."""
    query = _folded(query)
    if not query:
        return set()
    found = set()
    for index, name in enumerate(authors):
        folded = _folded(name)
        if folded == query or (" " not in query and folded.rsplit(" ", 1)[-1] == query):
            found.add(index)
    return found


def initials(name: str) -> str:
    words = [word for word in (name or "?").replace("-", " ").split() if word[:1].isalnum()]
    return ("".join(word[0] for word in words[:2]) or (name or "?")[:1]).upper()


def avatar_class(name: str) -> str:
    """A stable colour class per name (a class, not a style attribute: CSP allows no inline style)."""
    return f"c{zlib.crc32((name or '').encode()) % AVATAR_COLOURS}"


def short_date(value: date | datetime | None) -> str:
    return f"{value:%b %-d, %Y}" if value else ""


def long_date(value: date | None) -> str:
    return f"{value:%A, %B %-d, %Y}" if value else ""


def author_url(name: str) -> str:
    """The author page of a name as written on a paper (``/authors/Ada%20Lovelace``)."""
    return f"/authors/{quote(name or '', safe='')}"


def sentence(text: str | None) -> str:
    """A message as a sentence on a page: services say "the username is taken", alerts say "The ..."."""
    text = str(text or "")
    return text[:1].upper() + text[1:]


def paper_label(key: str, link: str | None = None) -> Markup:
    """How a paper's id is shown: ``arXiv:2405.15738`` (a link to ``link``, when given) for an arXiv
    paper; ``Local id local-...`` for a local one, which has nothing on arXiv to link to."""
    if not is_arxiv_key(key):
        return Markup('<span title="not on arXiv">Local id {}</span>').format(key)
    label = Markup("arXiv:{}").format(key)
    return Markup('<a href="{}" rel="noopener">{}</a>').format(link, label) if link else label


def github_name(url: str | None) -> str:
    """'https://github.com/org/repo' -> 'org/repo'."""
    if not url:
        return ""
    return url.rstrip("/").split("github.com/", 1)[-1]


@lru_cache(maxsize=None)
def _static_hash(path: str) -> str:
    try:
        return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]
    except OSError:
        return "missing"


def static(path: str) -> str:
    """The URL of a static file with a content hash, so browsers may cache it forever."""
    return f"/static/{path}?v={_static_hash(path)}"


@lru_cache(maxsize=None)
def icon(name: str) -> Markup:
    """An icon of the sprite (``static/img/icons.svg``), by symbol id: a few bytes per use, one
    cached request for the site, nothing inline for the CSP to refuse. A plain function rather
    than a template macro, because list pages draw a hundred of them."""
    return Markup(
        f'<svg class="icon" aria-hidden="true"><use href="{static("img/icons.svg")}#{escape(name)}"></use></svg>'
    )


def make_environment(*, strict: bool = False) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        undefined=StrictUndefined if strict else Undefined,
    )
    environment.filters.update(
        compact=compact,
        author_line=author_line,
        initials=initials,
        avatar_class=avatar_class,
        short_date=short_date,
        long_date=long_date,
        github_name=github_name,
        paper_label=paper_label,
        author_url=author_url,
        sentence=sentence,
        holds=holds,
    )
    environment.globals.update(static=static, icon=icon, choose=choose, site_name=get_settings().site_name)
    return environment


environment = make_environment()


def page_context(request: Request) -> dict[str, Any]:
    """What every page needs: who is logged in, the CSRF token for its forms, messages to show.

    The token is lazy: a page that never prints it (an anonymous reader's) starts no session,
    sets no cookie, and so stays shareable by the page cache.
    """
    return {
        "request": request,
        "user": current_user(request),
        "csrf_token": csrf_token(request),
        "flashes": pop_flashes(request),
    }


@dataclass(frozen=True)
class FeedLink:
    """A feed a page offers, in both formats: ``<link rel="alternate">`` in its head, and a visible link."""

    title: str
    rss: str
    atom: str


def feed_link(title: str, name: str, **params: object) -> FeedLink:
    """The feed ``/feeds/<name>.rss|atom`` with ``params`` (see ``web.feeds``)."""
    return FeedLink(title, query_url(f"/feeds/{name}.rss", **params), query_url(f"/feeds/{name}.atom", **params))


def query_url(path: str, **params: object) -> str:
    """``path`` with its non-empty query parameters in a fixed order (so equal pages share a cache key)."""
    pairs = [(key, str(value)) for key, value in params.items() if value not in (None, "", False)]
    return f"{path}?{urlencode(pairs)}" if pairs else path


def render_string(name: str, context: dict[str, Any]) -> str:
    return environment.get_template(name).render(context)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the page context plus ``context``."""
    return render_page(request, page_context(request), name, status_code, **context)


def render_page(request: Request, base: dict[str, Any], name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render with a page context the handler already fetched (it needed the user earlier)."""
    return HTMLResponse(render_string(name, {**base, **context}), status_code=status_code)
