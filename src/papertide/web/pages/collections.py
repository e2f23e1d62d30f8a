"""``/collections``: the reader's collections; ``/collections/{id}`` one of them, and its
``.bib`` and ``.ris`` exports. A private collection is a 404 for everyone but its owner."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide import feed
from papertide.catalog.bibtex import bibliography
from papertide.catalog.ris import ris
from papertide.community import collections, votes
from papertide.web.deps import database, now, settings
from papertide.web.rendering import page_context, render_page
from papertide.web.session import current_user

router = APIRouter()
EXPORTS = {"bib": ("application/x-bibtex; charset=utf-8", bibliography),
           "ris": ("application/x-research-info-systems; charset=utf-8", ris)}


@router.get("/collections", response_class=HTMLResponse)
def collections_page(request: Request):
    context = page_context(request)
    user = context["user"]
    if user is None:
        return RedirectResponse("/login?next=/collections", status_code=303)
    with database(request).session() as session:
        mine = collections.list_collections(session, user.id)
    return render_page(request, context, "collections.html", nav="collections", collections=mine,
                       max_name=collections.MAX_NAME)


@router.get("/collections/menu", response_class=HTMLResponse)
def collect_menu(request: Request, paper: str):
    """The "save to a collection" menu of one paper, fetched when a card's menu opens."""
    context = page_context(request)
    if context["user"] is None:
        raise HTTPException(status_code=401, detail="log in first")
    with database(request).session() as session:
        item = feed.get_paper_item(session, paper)
        if item is None:
            raise HTTPException(status_code=404, detail="no such paper")
        menu = collections.menu(session, context["user"].id, item.paper.id)
    return render_page(request, context, "partials/collect_menu.html", paper=item.paper, menu=menu)


@router.get("/collections/{address}")
def collection_page(request: Request, address: str):
    public_id, _, extension = address.partition(".")
    if extension and extension not in EXPORTS:
        raise HTTPException(status_code=404, detail="no such collection")
    user = current_user(request)
    with database(request).session() as session:
        collection = collections.readable_collection(session, public_id, user.id if user else None)
        if collection is None:
            raise HTTPException(status_code=404, detail="no such collection, or it is private")
        items = feed.items_by_paper_ids(session, collections.paper_ids(session, collection.id), now=now(request))
        if extension:
            return _export(collection, [item.paper for item in items], extension)
        voted = votes.voted_papers(session, user.id, [i.paper.id for i in items]) if user else set()
    context = page_context(request)
    owner = bool(user and user.id == collection.owner_id)
    return render_page(request, context, "collection.html", nav="collections" if owner else None, collection=collection,
                       items=items, voted_ids=voted, owner=owner, share_url=_absolute(request, collection.url),
                       max_name=collections.MAX_NAME)


def _export(collection: collections.CollectionView, papers: list, extension: str) -> Response:
    media_type, write = EXPORTS[extension]
    stem = re.sub(r"[^A-Za-z0-9]+", "-", collection.name).strip("-").lower()[:60] or "collection"
    return Response(write(papers), media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{extension}"',
                             "Cache-Control": "private, no-store"})


def _absolute(request: Request, path: str) -> str:
    return settings(request).base_url.rstrip("/") + path
