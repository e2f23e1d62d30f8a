"""papertide's read models in the shapes of Hugging Face's papers API.

Field names, nesting and date format follow the real responses (see
``tests/fixtures/hf_api/``): a daily item is ``{paper: {...}, publishedAt, title, summary,
thumbnail, numComments, submittedBy, organization?, isAuthorParticipating}`` and a paper is
``{id, authors: [{_id, name, hidden}], publishedAt, submittedOnDailyAt, title, summary, upvotes,
discussionId, githubRepo?, projectPage?, ...}``. Dates are ``YYYY-MM-DDTHH:MM:SS.mmmZ``, the only
format ``huggingface_hub`` parses. Optional fields are left out when empty, as Hugging Face does.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from papertide.catalog.models import Organization
from papertide.community.comments import CommentView
from papertide.feed import FeedItem


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def user(name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    return {"_id": name, "avatarUrl": "", "fullname": name, "user": name, "name": name, "type": "user", "isPro": False}


def organization(org: Organization | None) -> dict[str, Any] | None:
    if org is None:
        return None
    return {"_id": str(org.id), "name": org.slug, "fullname": org.name, "avatar": ""}


def paper(item: FeedItem) -> dict[str, Any]:
    """A paper as ``/api/papers/{id}`` and the ``paper`` of a daily item show it."""
    p = item.paper
    return _drop_none({
        "id": p.arxiv_id,
        "authors": [{"_id": f"{p.id}-{i}", "name": name, "hidden": False} for i, name in enumerate(p.authors or [])],
        "publishedAt": iso(p.published_at),
        "submittedOnDailyAt": iso(item.entry.submitted_at) if item.entry else None,
        "title": p.title,
        "submittedOnDailyBy": user(item.submitted_by),
        "summary": p.abstract,
        "upvotes": item.upvotes,
        "discussionId": str(p.id),
        "projectPage": p.project_page,
        "githubRepo": p.github_repo,
        "githubStars": p.github_stars,
        "ai_summary": p.ai_summary,
        "ai_keywords": p.ai_keywords,
        "organization": organization(item.organization),
    })


def paper_with_counts(item: FeedItem) -> dict[str, Any]:
    """``/api/papers/{id}``: the paper plus its comment count."""
    return {**paper(item), "numComments": item.num_comments}


def daily_item(item: FeedItem) -> dict[str, Any]:
    """One element of ``/api/daily_papers`` and ``/api/papers/search``."""
    p = item.paper
    return _drop_none({
        "paper": paper(item),
        "publishedAt": iso(p.published_at or (item.entry.submitted_at if item.entry else None)),
        "title": p.title,
        "summary": p.abstract,
        "numComments": item.num_comments,
        "submittedBy": user(item.submitted_by),
        "organization": organization(item.organization),
        "isAuthorParticipating": False,
    }) | {"thumbnail": None}  # papertide draws no thumbnails; the key stays for clients that read it


def comment(view: CommentView) -> dict[str, Any]:
    """A comment as ``/api/papers/{id}/comments`` lists it. A placeholder (deleted, or its author
    blocked) names no one; ``body`` and ``html`` are empty unless the text may be read."""
    named = view.state in ("shown", "removed")
    return {"id": view.id, "author": user(view.author) if named else None, "body": view.body, "html": view.html,
            "createdAt": iso(view.created_at), "parentId": view.parent_id, "state": view.state,
            "editedAt": iso(view.edited_at), "removedReason": view.removed_reason}
