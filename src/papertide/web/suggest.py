"""Suggestions for the pickers of organisations and authors: ``<option>`` lists that htmx puts in
a ``<datalist>`` as the reader types (``/suggest/organizations``, ``/suggest/authors``).

The field asking is named like the list (``organizations``, ``authors``), so htmx sends what was
typed under that name. Read-only and public (the digest's subscribe page has no account); each
answer is a few rows from ``catalog.names``, whose queries are bounded whatever the catalog's size.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from papertide.catalog import names
from papertide.web.deps import read_session
from papertide.web.rendering import render_string

router = APIRouter(tags=["suggestions"], include_in_schema=False)
MAX_TYPED = 100


def _typed(request: Request, field: str) -> str:
    return (request.query_params.get(field) or request.query_params.get("q") or "")[:MAX_TYPED]


def _options(options: list[tuple[str, str]]) -> HTMLResponse:
    """(value, label) pairs as ``<option>`` elements, cacheable by the browser for a minute."""
    html = render_string("partials/options.html", {"options": options})
    return HTMLResponse(html, headers={"Cache-Control": "private, max-age=60"})


def _papers(count: int) -> str:
    return f"{count} paper{'s' if count != 1 else ''}"


@router.get("/suggest/organizations", response_class=HTMLResponse)
def organizations(request: Request, session: Session = Depends(read_session)) -> HTMLResponse:
    found = names.suggest_organizations(session, _typed(request, "organizations"))
    return _options([(name, f"{slug} · {_papers(count)}") for slug, name, count in found])


@router.get("/suggest/authors", response_class=HTMLResponse)
def authors(request: Request, session: Session = Depends(read_session)) -> HTMLResponse:
    return _options([(name, _papers(count)) for name, count in names.suggest_authors(session, _typed(request, "authors"))])
