"""The comment thread of a paper page: post, reply, edit, delete, and the fragments htmx swaps in.

Every change re-renders the whole thread it touched (its top-level comment with the replies), and
htmx swaps that in place of the old one: deleting a reply may take away a "deleted" placeholder
above it, so the thread, not the comment, is the unit. Without JavaScript the same addresses are
pages of their own (an edit form, a confirmation) and the forms redirect back to the paper.

Writes go through the site's CSRF check and the comment rate limit; the rules (whose comment,
how long it may be edited) are ``community.comments``'.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from papertide.catalog.paper_ids import normalise_paper_id
from papertide.community import comments, ratelimit, threads
from papertide.community.errors import CommunityError
from papertide.web import deps
from papertide.web.answers import fail, is_htmx, limited, rate_scale, wants_json, who
from papertide.web.inputs import ParentId
from papertide.web.rendering import render
from papertide.web.session import current_user, flash, verify_write

router = APIRouter(tags=["comments"], dependencies=[Depends(verify_write)], include_in_schema=False)

Body = Annotated[str, Form(max_length=comments.MAX_COMMENT * 2)]
CommentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _thread(request: Request, comment_id: int, status: int = 200, **extra) -> HTMLResponse:
    """The thread holding ``comment_id`` as the viewer sees it now (empty when none of it is left)."""
    user = current_user(request)
    with deps.database(request).session() as session:
        root = threads.thread_of(session, comment_id, moderator=bool(user and user.is_admin))
        arxiv_id = comments.paper_of(session, comment_id)
    return render(request, "partials/thread.html", status, root=root, arxiv_id=arxiv_id, now=deps.now(request), **extra)


def _paper_anchor(request: Request, comment_id: int) -> str:
    with deps.database(request).session() as session:
        arxiv_id = comments.paper_of(session, comment_id)
    return f"/papers/{arxiv_id}#comment-{comment_id}" if arxiv_id else "/"


@router.post("/papers/{arxiv_id:path}/comments")
def post_comment(request: Request, arxiv_id: str, body: Body, parent_id: ParentId = None) -> Response:
    """A new comment, or with ``parent_id`` a reply (attached to that thread's top-level comment)."""
    account = who(request)
    if isinstance(account, Response):
        return account
    key = normalise_paper_id(arxiv_id) or arxiv_id[:60]
    back = f"/papers/{key}#comments"
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "comment", f"user:{account.id}", now=deps.now(request), scale=rate_scale(request))
            view = comments.add_comment(session, account.id, key, body, parent_id, now=deps.now(request))
    except ratelimit.RateLimited as refused:
        return limited(request, refused, back)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), back)
    if is_htmx(request):
        return render(request, "partials/comment.html", comment=view, arxiv_id=key, now=deps.now(request))
    if wants_json(request):
        return JSONResponse({"id": view.id, "html": view.html, "parentId": view.parent_id}, status_code=201)
    return RedirectResponse(f"/papers/{key}#comment-{view.id}", status_code=303)


@router.get("/comments/{comment_id}", response_class=HTMLResponse)
def show_thread(request: Request, comment_id: CommentId) -> Response:
    """htmx: the comment's thread (an edit's Cancel); a browser: the comment on its paper's page."""
    if is_htmx(request):
        return _thread(request, comment_id)
    return RedirectResponse(_paper_anchor(request, comment_id), status_code=303)


def _own_comment(request: Request, comment_id: int, verb: str):
    """(account, comment view, paper's arXiv id) if the viewer may ``verb`` it now, else the answer to give."""
    account = who(request)
    if isinstance(account, Response):
        return account
    with deps.database(request).session() as session:
        view = threads.get_comment(session, comment_id)
        arxiv_id = comments.paper_of(session, comment_id)
    if view is None or view.state == comments.DELETED:
        return fail(request, 404, f"no comment {comment_id}", "/")
    allowed = view.editable_by(account.id, deps.now(request)) if verb == "edit" else view.deletable_by(account.id)
    if not allowed:
        minutes = int(comments.EDIT_WINDOW.total_seconds() // 60)
        reason = (f"a comment can be edited by its author, for {minutes} minutes after it is posted" if verb == "edit"
                  else "you can only delete your own comments")
        return fail(request, 403, reason, f"/papers/{arxiv_id}#comment-{comment_id}")
    return account, view, arxiv_id


@router.get("/comments/{comment_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, comment_id: CommentId) -> Response:
    """htmx: the thread with this comment's text as a form; a browser: a page with the form."""
    found = _own_comment(request, comment_id, "edit")
    if isinstance(found, Response):
        return found
    _, view, arxiv_id = found
    if is_htmx(request):
        return _thread(request, comment_id, editing=comment_id)
    return render(request, "comment_edit.html", comment=view, arxiv_id=arxiv_id, now=deps.now(request), body=view.body)


@router.post("/comments/{comment_id}/edit")
def save_edit(request: Request, comment_id: CommentId, body: Body) -> Response:
    account = who(request)
    if isinstance(account, Response):
        return account
    try:
        with deps.database(request).session() as session:
            ratelimit.hit(session, "comment", f"user:{account.id}", now=deps.now(request), scale=rate_scale(request))
            edited = comments.edit_comment(session, account.id, comment_id, body, now=deps.now(request))
            arxiv_id = comments.paper_of(session, comment_id)
    except ratelimit.RateLimited as refused:
        return limited(request, refused, f"/comments/{comment_id}/edit")
    except CommunityError as problem:
        if is_htmx(request) or wants_json(request):
            return fail(request, problem.status, str(problem), "/")
        return _edit_page_again(request, comment_id, body, str(problem), problem.status)
    if is_htmx(request):
        return _thread(request, comment_id)
    if wants_json(request):
        return JSONResponse({"id": comment_id, "html": comments.render_markdown(edited.body),
                             "editedAt": edited.edited_at.isoformat() if edited.edited_at else None})
    return RedirectResponse(f"/papers/{arxiv_id}#comment-{comment_id}", status_code=303)


def _edit_page_again(request: Request, comment_id: int, body: str, message: str, status: int) -> Response:
    """The edit page with what was typed and why it was refused (a plain form keeps its text)."""
    with deps.database(request).session() as session:
        view = threads.get_comment(session, comment_id)
        arxiv_id = comments.paper_of(session, comment_id)
    if view is None:
        return fail(request, 404, f"no comment {comment_id}", "/")
    return render(request, "comment_edit.html", status, comment=view, arxiv_id=arxiv_id, now=deps.now(request),
                  body=body, error=message)


@router.get("/comments/{comment_id}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, comment_id: CommentId) -> Response:
    """The question before deleting: in the page's dialog (htmx) or as a page of its own."""
    found = _own_comment(request, comment_id, "delete")
    if isinstance(found, Response):
        return found
    _, view, arxiv_id = found
    confirm = {
        "title": "Delete your comment?",
        "text": "Its text is gone for good. If people replied, the thread keeps a “deleted” marker in its place.",
        "action": f"/comments/{comment_id}/delete", "button": "Delete comment",
        "back": f"/papers/{arxiv_id}#comment-{comment_id}", "target": f"#comment-{view.parent_id or view.id}",
        "quote": view.body,
    }
    return render(request, "partials/confirm.html" if is_htmx(request) else "confirm.html", confirm=confirm)


@router.post("/comments/{comment_id}/delete")
def delete(request: Request, comment_id: CommentId) -> Response:
    account = who(request)
    if isinstance(account, Response):
        return account
    try:
        with deps.database(request).session() as session:
            comments.delete_comment(session, account.id, comment_id, now=deps.now(request))
            arxiv_id = comments.paper_of(session, comment_id)
    except CommunityError as problem:
        return fail(request, problem.status, str(problem), "/")
    if is_htmx(request):
        return _thread(request, comment_id)
    if wants_json(request):
        return JSONResponse({"ok": True})
    flash(request, "Your comment is deleted.", "success")
    return RedirectResponse(f"/papers/{arxiv_id}#comments", status_code=303)
