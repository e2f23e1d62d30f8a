"""The JSON API: Hugging Face-compatible paper endpoints plus papertide's extras, and its docs.

``router`` is what ``create_app`` includes: ``/api/...`` and ``/docs`` (vendored Swagger UI; the
app must be created with ``docs_url=None``).
"""

from fastapi import APIRouter

from papertide.web.api import docs, routes

router = APIRouter()
router.include_router(routes.router)
router.include_router(docs.router)

__all__ = ["router"]
