"""The JSON API: Hugging Face-compatible paper endpoints plus papertide's extras, and its docs.

``router`` is what ``create_app`` includes: ``/api/...`` reads (``routes``) and writes
(``actions``), and ``/docs`` (vendored Swagger UI; the app must be created with ``docs_url=None``).
``markdown.router`` (``/papers/{id}.md``) must be included before the paper pages.
"""

from fastapi import APIRouter

from papertide.web.api import actions, docs, markdown, routes

router = APIRouter()
router.include_router(actions.router)
router.include_router(routes.router)
router.include_router(docs.router)
markdown_router = markdown.router

__all__ = ["markdown_router", "router"]
