"""The reader's own forms: following authors and organisations, and collections of papers.

Same contract as ``web.actions`` (whose answers these share): CSRF-checked, signed in, rate
limited, one service call in one transaction, then an htmx fragment, JSON, or a redirect.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from papertide import feed
from papertide.catalog.paper_ids import normalise_paper_id
from papertide.community import collections, follows, ratelimit
from papertide.community.errors import CommunityError
from papertide.web import deps
from papertide.web.answers import done, fail, is_htmx, limited, rate_scale, wants_json, who
from papertide.web.rendering import render
from papertide.web.session import flash, safe_next, verify_write

router = APIRouter(tags=["actions"], dependencies=[Depends(verify_write)], include_in_schema=False)

Name = Annotated[str, Form(max_length=collections.MAX_NAME * 3)]
Description = Annotated[str, Form(max_length=collections.MAX_DESCRIPTION * 2)]
Flag = Annotated[str, Form(max_length=5)]
Next = Annotated[str, Form(max_length=500)]
ArxivId = Annotated[str, Form(max_length=200)]


def _on(value: str) -> bool:
    return value.strip().lower() in {"1", "on", "true", "yes"}


@router.post("/follows")
def follow(request: Request, kind: Annotated[str, Form(max_length=20)], name: Annotated[str, Form(max_length=300)],
           on: Flag = "1", next: Next = "") -> Response:
    """Follow (``on=1``) or unfollow an author by name or an organisation by slug."""
    account = who(request)
    if isinstance(account, Response):
        return account
    back = safe_next(next, "/for-you")
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "follow", f"user:{account.id}", now=deps.now(request), scale=rate_scale(request))
            following = follows.set_follow(session, account.id, kind, name, _on(on), now=deps.now(request))
    except ratelimit.RateLimited as refused:
        return limited(request, refused, back)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)
    if is_htmx(request):
        return render(request, "partials/follow.html", follow_kind=kind, follow_name=name, following=following, next=back)
    if wants_json(request):
        return JSONResponse({"kind": kind, "name": name, "following": following})
    return RedirectResponse(back, status_code=303)


@router.post("/collections")
def create(request: Request, name: Name, description: Description = "", shared: Flag = "", arxiv_id: ArxivId = "",
           next: Next = "") -> Response:
    """A new collection; with ``arxiv_id``, the paper goes in at once (the "save to a new
    collection" field of a card or a paper page, which gets its menu back)."""
    account = who(request)
    if isinstance(account, Response):
        return account
    back = safe_next(next, "/collections")
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "collect", f"user:{account.id}", now=deps.now(request), scale=rate_scale(request))
            made = collections.create_collection(session, account.id, name, description, shared=_on(shared),
                                                 now=deps.now(request))
            if arxiv_id:
                collections.set_item(session, account.id, made.public_id, arxiv_id, True, now=deps.now(request))
    except ratelimit.RateLimited as refused:
        return limited(request, refused, back)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)
    if arxiv_id and is_htmx(request):
        return _menu(request, account.id, arxiv_id)
    if wants_json(request):
        return JSONResponse({"id": made.public_id, "url": made.url}, status_code=201)
    return RedirectResponse(back if arxiv_id else made.url, status_code=303)


@router.post("/collections/{public_id}/papers")
def save(request: Request, public_id: str, arxiv_id: ArxivId, on: Flag = "1", next: Next = "") -> Response:
    """Put a paper in a collection (``on=1``) or take it out."""
    account = who(request)
    if isinstance(account, Response):
        return account
    key = normalise_paper_id(arxiv_id) or arxiv_id[:60]
    back = safe_next(next, f"/papers/{key}")
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "collect", f"user:{account.id}", now=deps.now(request), scale=rate_scale(request))
            inside = collections.set_item(session, account.id, public_id, key, _on(on), now=deps.now(request))
    except ratelimit.RateLimited as refused:
        return limited(request, refused, back)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)
    if is_htmx(request):
        return _menu(request, account.id, key)
    if wants_json(request):
        return JSONResponse({"collection": public_id, "id": key, "saved": inside})
    return RedirectResponse(back, status_code=303)


@router.post("/collections/{public_id}/edit")
def edit(request: Request, public_id: str, name: Name, description: Description = "", shared: Flag = "") -> Response:
    account = who(request)
    if isinstance(account, Response):
        return account
    back = f"/collections/{public_id[:32]}"
    try:
        with deps.database(request).session() as session:
            collections.update_collection(session, account.id, public_id, name, description, shared=_on(shared),
                                          now=deps.now(request))
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)
    if not wants_json(request):
        flash(request, "Saved.", "success")
    return done(request, back, {"ok": True})


@router.post("/collections/{public_id}/delete")
def remove(request: Request, public_id: str) -> Response:
    account = who(request)
    if isinstance(account, Response):
        return account
    try:
        with deps.database(request).session() as session:
            collections.delete_collection(session, account.id, public_id)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), f"/collections/{public_id[:32]}")
    if not wants_json(request):
        flash(request, "Collection deleted.", "success")
    return done(request, "/collections", {"ok": True})


def _menu(request: Request, user_id: int, arxiv_id: str) -> Response:
    """The "save to a collection" menu of one paper, as it now stands."""
    with deps.database(request).session() as session:
        item = feed.get_paper_item(session, arxiv_id)
        menu = collections.menu(session, user_id, item.paper.id) if item else []
    return render(request, "partials/collect_menu.html", paper=item.paper if item else None, menu=menu)
