"""The OpenAPI document (``/openapi.json``) as the API behaves, from FastAPI's generated one.

FastAPI documents a 422 with its own ``HTTPValidationError`` on every operation; papertide answers
every error as ``Error`` (``web.errors``): 400 for a bad query or path parameter, 422 for a bad
body. Every API operation may also answer 401 (a token was sent and is not valid) and 429 (too
many wrong tokens from an address). HEAD works wherever GET does but is left out, as usual; the
operations that act as someone name the bearer token they take (a browser's session and CSRF
token work too).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from papertide.web.errors import ERROR_MEANINGS

ERROR_REF = {"$ref": "#/components/schemas/Error"}
PERSONAL_TAG = "your account"  # the operations that act as someone (``api.actions``)


def _error(status: int, description: str | None = None) -> dict[str, Any]:
    return {"description": description or ERROR_MEANINGS[status], "content": {"application/json": {"schema": ERROR_REF}}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The schema, made once per app (FastAPI keeps it in ``app.openapi_schema``)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for operations in schema["paths"].values():
        operations.pop("head", None)
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if operation.get("requestBody"):
                responses["422"] = _error(422)
            responses.setdefault("400", _error(400, "a parameter, or the body's encoding, is not what this endpoint reads"))
            responses.setdefault("401", _error(401, "an API token was sent and is not valid (wrong or revoked)"))
            responses.setdefault("429", _error(429))
            if PERSONAL_TAG in operation.get("tags", ()):
                operation["security"] = [{"bearerToken": []}]
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    components["securitySchemes"] = {"bearerToken": {
        "type": "http", "scheme": "bearer",
        "description": "a personal API token (pt_...) made on your account page; write scope for writes",
    }}
    app.openapi_schema = schema
    return schema
