"""``/admin``: what moderators act on: recent comments, hidden papers, users, and the audit trail;
and the confirmation, with a reason, that hiding and blocking ask for first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide import feed
from papertide.catalog.paper_ids import normalise_paper_id
from papertide.community import accounts, audit, comments, moderation, threads
from papertide.web.deps import database
from papertide.web.rendering import page_context, render_page

router = APIRouter()


def _moderators_only(request: Request, target: str):
    """The page context of a moderator, or the answer for anyone else."""
    context = page_context(request)
    user = context["user"]
    if user is None:
        return RedirectResponse(f"/login?next={target}", status_code=303)
    if not user.is_admin:
        return render_page(request, context, "error.html", status_code=403, error_title="Moderators only",
                           error_text="This page is for the site's moderators.")
    return context


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request):
    context = _moderators_only(request, "/admin")
    if not isinstance(context, dict):
        return context
    with database(request).session() as session:
        context.update(
            comments=moderation.recent_comments(session, limit=50),
            hidden=moderation.hidden_papers(session),
            users=moderation.list_users(session, limit=100),
            audit=audit.audit_log(session, limit=30),
        )
    return render_page(request, context, "admin.html", nav="admin")


REASON_HINT = "Shown in the audit trail{shown}."


def _confirmation(request: Request, what: str, target: str, verb: str, thread: bool) -> dict | None:
    """What the confirmation of hiding a paper, removing a comment or blocking a user says."""
    with database(request).session() as session:
        if what == "papers":
            item = feed.get_paper_item(session, normalise_paper_id(target) or target[:60])
            if item is None:
                return None
            arxiv_id = item.paper.arxiv_id
            return {"title": "Hide this paper?", "action": f"/admin/papers/{arxiv_id}/hide", "button": "Hide paper",
                    "text": f"«{item.paper.title}» leaves every list, search, feed and API answer until it is unhidden.",
                    "back": f"/papers/{arxiv_id}", "reason": "Why hide it?",
                    "reason_hint": REASON_HINT.format(shown=" and to moderators on the paper's page")}
        if what == "comments" and target.isdigit() and len(target) < 10:
            comment = threads.get_comment(session, int(target), moderator=True)
            if comment is None or comment.state == comments.DELETED:
                return None
            arxiv_id = comments.paper_of(session, comment.id)
            return {"title": f"Remove {comment.author}'s comment?", "action": f"/admin/comments/{comment.id}/hide",
                    "button": "Remove comment", "quote": comment.body,
                    "text": "Readers see “removed by a moderator” and your reason in its place; you can restore it later.",
                    "back": f"/papers/{arxiv_id}#comment-{comment.id}" if thread else "/admin",
                    "target": f"#comment-{comment.parent_id or comment.id}" if thread else None,
                    "reason": "Why remove it?", "reason_hint": REASON_HINT.format(shown=" and in place of the comment")}
        if what == "users":
            account = accounts.get_user_by_name(session, target[:40])
            if account is None:
                return None
            username = account.username
            return {"title": f"Block {username}?", "action": f"/admin/users/{username}/block", "button": f"Block {username}",
                    "text": f"{username} can no longer log in, vote, comment or submit, and their comments leave the site.",
                    "back": "/admin", "reason": "Why block them?",
                    "reason_hint": REASON_HINT.format(shown=f" and told to {username} when they try to log in")}
    return None


@router.get("/admin/{what}/{target:path}/{verb}", response_class=HTMLResponse)
def confirm_page(request: Request, what: str, target: str, verb: str, thread: bool = False):
    """Hide, remove or block: asked first, with a reason (in the page's dialog with htmx)."""
    context = _moderators_only(request, "/admin")
    if not isinstance(context, dict):
        return context
    if (what, verb) not in (("papers", "hide"), ("comments", "hide"), ("users", "block")):
        return render_page(request, context, "error.html", status_code=404, error_title="Page not found",
                           error_text="There is no such moderation action.")
    confirm = _confirmation(request, what, target, verb, thread)
    if confirm is None:
        return render_page(request, context, "error.html", status_code=404, error_title="Not found",
                           error_text="There is nothing by that name to moderate.")
    htmx = request.headers.get("hx-request") == "true"
    return render_page(request, context, "partials/confirm.html" if htmx else "confirm.html", confirm=confirm)
