"""Every error the site answers, in one of two shapes: a page for people, JSON for programs.

JSON errors have one shape whatever went wrong, documented in the OpenAPI schema as ``Error``:
``{"error": "what went wrong, in words"}`` (Hugging Face's shape, which its client reads), plus
``"fields"`` for a request that failed validation: where, and what was expected. Nothing the client
sent is echoed back: an input such as ``1e400`` or ``NaN`` is not even valid JSON to write out.

Who gets JSON: anything under ``/api/``, and any request whose ``Accept`` prefers
``application/json`` to ``text/html`` (a script asking for a missing paper gets JSON, a browser
the error page). A ``curl`` without ``Accept`` gets JSON too.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from papertide.web.rendering import render, render_string

TITLES = {400: "That is not a request we understand", 401: "Log in first", 403: "Not allowed",
          404: "Page not found", 405: "Not allowed", 422: "That is not a request we understand",
          429: "Too many requests"}


class FieldProblem(BaseModel):
    where: str = Field(description="the part of the request, e.g. query.limit or body.max_papers")
    problem: str


class Error(BaseModel):
    """The body of every JSON error answer."""

    error: str = Field(description="what went wrong, in words")
    fields: list[FieldProblem] | None = Field(None, description="for a request that failed validation: each part that did")


ERROR_MEANINGS = {
    400: "a query parameter is not what this endpoint reads", 401: "log in, or send an API token",
    403: "not allowed (a read-only token, a missing CSRF token, not yours)", 404: "not found",
    409: "conflicts with what is stored", 422: "the body is not what this endpoint reads",
    429: "too many requests: see Retry-After and RateLimit-*", 503: "a service this needs is down; try again later",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """The OpenAPI ``responses`` of an operation that may answer these errors, all as ``Error``."""
    return {status: {"model": Error, "description": ERROR_MEANINGS[status]} for status in statuses}


class PageError(StarletteHTTPException):
    """An error a page raises: people get the error page with this title, programs JSON."""

    def __init__(self, status_code: int, detail: str, title: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(status_code, detail, headers)
        self.title = title


def _quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type`` (exact type, then ``type/*``, then ``*/*``)."""
    best, found = 0.0, -1
    main = media_type.split("/")[0]
    for part in accept.split(","):
        kind, *params = [piece.strip() for piece in part.split(";")]
        kind = kind.lower()
        rank = 3 if kind == media_type else 2 if kind == f"{main}/*" else 1 if kind == "*/*" else 0
        if rank == 0 or rank < found:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if rank > found:
            best, found = q, rank
    return best


def wants_json(request: Request) -> bool:
    """True for the API, and for clients that prefer JSON to HTML (or name neither)."""
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return not accept or _quality(accept, "application/json") >= _quality(accept, "text/html")


def json_error(status: int, message: str, *, headers: dict[str, str] | None = None,
               fields: list[dict[str, str]] | None = None) -> Response:
    body: dict = {"error": message}
    if fields:
        body["fields"] = fields
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def validation_fields(error: RequestValidationError) -> list[dict[str, str]]:
    """Where and what, for each problem; never the input itself."""
    fields = []
    for problem in error.errors()[:20]:
        where = ".".join(str(part) for part in problem.get("loc", ()))
        message = str(problem.get("msg", "invalid value")).removeprefix("Value error, ")
        fields.append({"where": where[:200], "problem": message[:300]})
    return fields


def _page(request: Request, status: int, title: str, text: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    answer = render(request, "error.html", status_code=status, error_title=title, error_text=text)
    answer.headers.update(headers or {})
    return answer


def allowed_methods(request: Request) -> str:
    """Every method some route takes at this path (Starlette names only the first route's), and
    HEAD wherever GET (``web.head``)."""
    methods = {method for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
               if any(route.matches({**request.scope, "method": method})[0] is Match.FULL
                      for route in request.app.router.routes)}
    return ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))


def install(app: FastAPI) -> None:
    """Register the handlers that give every error its shape (called by ``create_app``)."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = error.detail if isinstance(error.detail, str) else "request refused"
        if error.status_code == 404 and message == "Not Found":
            message = "nothing is at this address"
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = allowed_methods(request)
            message = f"{request.method} is not allowed here; {headers['Allow']} are"
        if wants_json(request):
            return json_error(error.status_code, message, headers=headers)
        title = getattr(error, "title", None) or TITLES.get(error.status_code, "Something went wrong")
        return _page(request, error.status_code, title, message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        fields = validation_fields(error)
        summary = "; ".join(f"{f['where']}: {f['problem']}" for f in fields[:3]) or "invalid request"
        # A bad address (query, path, header) is a 400, a body that is not what was asked a 422.
        in_body = any(str(problem.get("loc", ("",))[0]) == "body" for problem in error.errors())
        if wants_json(request):
            return json_error(422 if in_body else 400, summary, fields=fields)
        return _page(request, 400, TITLES[400], summary)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        """A page or JSON, not a bare "Internal Server Error"; uvicorn still logs the traceback."""
        if wants_json(request):
            return json_error(500, "internal server error; it was logged")
        page = render_string("error.html", {"request": request, "user": None, "csrf_token": "", "flashes": [],
                                            "error_title": "Something went wrong",
                                            "error_text": "The error was logged. Please try again in a moment."})
        return HTMLResponse(page, status_code=500)
