"""``/orgs`` and ``/orgs/{slug}``: organisations and the papers attributed to them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from papertide import feed
from papertide.catalog.organizations import list_organizations
from papertide.community import follows, votes
from papertide.web.deps import database, now
from papertide.web.inputs import PageNumber
from papertide.web.paging import pager
from papertide.web.rendering import feed_link, page_context, query_url, render_page

router = APIRouter()
SORT_LABELS = (("newest", "Newest"), ("upvotes", "Most upvoted"), ("trending", "Trending"))


@router.get("/orgs", response_class=HTMLResponse)
def organizations_page(request: Request) -> HTMLResponse:
    context = page_context(request)
    with database(request).session() as session:
        organizations = list_organizations(session, limit=300)
    return render_page(request, context, "orgs.html", nav="orgs", organizations=organizations)


@router.get("/orgs/{slug}", response_class=HTMLResponse)
def organization_page(request: Request, slug: str, sort: str = "newest", p: PageNumber = 0) -> HTMLResponse:
    context = page_context(request)
    with database(request).session() as session:
        try:
            page = feed.organization_page(session, slug, sort=sort, now=now(request), page=p, limit=30)
        except feed.InvalidQuery as error:
            return render_page(request, context, "error.html", status_code=400, error_title="Bad request", error_text=str(error))
        if page is None:
            return render_page(request, context, "error.html", status_code=404, error_title="Organisation not found",
                               error_text=f"No organisation is called {slug[:60]!r} here.")
        if page.organization.slug != slug:  # an id merged into another organisation: one address
            return RedirectResponse(query_url(f"/orgs/{page.organization.slug}", sort=None if sort == "newest" else sort,
                                              p=p or None), status_code=301)
        user = context["user"]
        voted = votes.voted_papers(session, user.id, [i.paper.id for i in page.items]) if user else set()
        following = follows.is_following(session, user.id if user else None, "organization", page.organization.slug)
    sort = feed.normalise_sort(sort)
    pills = [(key, label, query_url(f"/orgs/{slug}", sort=None if key == "newest" else key)) for key, label in SORT_LABELS]
    pages = pager(page.page, page.limit, len(page.items), page.total,
                  lambda n: query_url(f"/orgs/{slug}", sort=None if sort == "newest" else sort, p=n))
    org = page.organization
    return render_page(request, context, "org.html", nav="orgs", org=org, items=page.items, total=page.total,
                       total_upvotes=page.total_upvotes, voted_ids=voted, sort=sort, sort_pills=pills, pager=pages,
                       feed_links=[feed_link(f"Papers from {org.name}", f"organizations/{org.slug}")],
                       following=following, follow_kind="organization", follow_name=org.slug, next=f"/orgs/{org.slug}")
