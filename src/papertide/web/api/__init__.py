"""The JSON API: Hugging Face-compatible paper endpoints plus papertide's extras.

``router`` is what ``create_app`` includes; every path starts with ``/api``.
"""

from papertide.web.api.routes import router

__all__ = ["router"]
