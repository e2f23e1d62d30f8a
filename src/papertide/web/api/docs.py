"""``/docs``: the OpenAPI reference, served from vendored Swagger UI (no CDN, strict CSP), under
a bar that leads back to the site.

FastAPI's own ``/docs`` loads Swagger UI from a CDN with an inline script; papertide runs offline
and forbids inline scripts, so the app turns that off (``docs_url=None``) and includes this router.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import escape

ASSETS = Path(__file__).resolve().parent / "swagger-ui"
FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "docs-init.js": "text/javascript",
         "docs.css": "text/css"}
# Swagger UI sets style attributes from its scripts; the page shows no user content.
DOCS_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    site = escape(request.app.title)
    openapi_url = escape(request.app.openapi_url or "/openapi.json")
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{site} API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="stylesheet" href="/docs/assets/docs.css"></head>
<body data-openapi-url="{openapi_url}">
<header class="docs-bar"><a class="docs-home" href="/" data-testid="back-to-site">&larr; {site}</a>
<nav><a href="/">Daily papers</a><a href="/trending">Trending</a><a href="/search">Search</a></nav></header>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs-init.js"></script></body></html>"""
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    if name not in FILES:
        return Response(status_code=404)
    return FileResponse(ASSETS / name, media_type=FILES[name], headers={"Cache-Control": "public, max-age=86400"})
