"""``/admin/sources``: is the pipeline alive? Each source and job with its last run, next run,
papers added and last error, and a "run now" button (a CSRF-checked POST that asks the workers)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papertide.web import security
from papertide.web.session import flash
from papertide.web.deps import database, now, settings
from papertide.web.rendering import page_context, render_page
from papertide.worker import leases
from papertide.worker.jobs import current_jobs
from papertide.worker.status import job_statuses, source_statuses

router = APIRouter()
PAGE = "/admin/sources"
WHAT = {
    "search-index": "Embeds new papers and refreshes the keyword and vector indexes, after a harvest that changed papers",
    "digests": "Records and sends the email digests",
    "digest-retries": "Sends digests whose delivery was deferred",
    "backup": "Backs the database up",
}


def _refused(request: Request, context: dict) -> Response | None:
    user = context["user"]
    if user is None:
        return RedirectResponse(f"/login?next={PAGE}", status_code=303)
    if not user.is_admin:
        return render_page(request, context, "error.html", status_code=403, error_title="Moderators only",
                           error_text="This page is for the site's moderators.")
    return None


@router.get(PAGE, response_class=HTMLResponse)
def sources_page(request: Request):
    context = page_context(request)
    if refused := _refused(request, context):
        return refused
    db, moment = database(request), now(request)
    others = [(job.name, WHAT.get(job.name, ""), job.schedule.describe() if job.schedule else "after a harvest")
              for job in current_jobs(db, settings(request)) if not job.name.startswith("source:")]
    context.update(sources=source_statuses(db, moment), jobs=job_statuses(db, moment, others), now=moment)
    return render_page(request, context, "sources.html", nav="admin")


@router.post(f"{PAGE}/run", dependencies=[Depends(security.verify_csrf)], include_in_schema=False)
def run_now(request: Request, job: Annotated[str, Form(max_length=200)]):
    """Ask the workers to run ``job`` as soon as one is free (the running worker picks it up within seconds)."""
    context = page_context(request)
    if refused := _refused(request, context):
        return refused
    known = {job.name for job in current_jobs(database(request), settings(request))}
    if job not in known:
        flash(request, f"there is no job {job!r}")
    else:
        leases.request_run(database(request), job)
        flash(request, f"{job} will run as soon as a worker is free", level="success")
    return RedirectResponse(PAGE, status_code=303)
