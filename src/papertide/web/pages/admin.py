"""``/admin``: what moderators act on: recent comments, hidden papers, users, and the audit trail."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide.community import moderation
from papertide.web.deps import database
from papertide.web.rendering import page_context, render_page

router = APIRouter()


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request):
    context = page_context(request)
    user = context["user"]
    if user is None:
        return RedirectResponse("/login?next=/admin", status_code=303)
    if not user.is_admin:
        return render_page(request, context, "error.html", status_code=403, error_title="Moderators only",
                           error_text="This page is for the site's moderators.")
    with database(request).session() as session:
        context.update(
            comments=moderation.recent_comments(session, limit=50),
            hidden=moderation.hidden_papers(session),
            users=moderation.list_users(session, limit=100),
            audit=moderation.audit_log(session, limit=30),
        )
    return render_page(request, context, "admin.html", nav="admin")
