"""HEAD wherever GET: a HEAD request is routed as a GET and answered without its body.

FastAPI's routes answer only the methods they name, so ``@router.get`` refused HEAD with a 405.
Routing HEAD as GET here, once, covers every route, included routers and the page cache alike
(a HEAD may be answered from a stored GET). The answer keeps GET's headers, Content-Length
included, as RFC 9110 asks. The OpenAPI document leaves HEAD out, as is usual.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body":
                if finished:
                    return
                finished = True
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        # A copy: the server reads the method of its own scope to send no body. What the router
        # records (scope["route"]) is handed back to the layers outside (request metrics).
        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, headers_only)
        finally:
            if "route" in as_get:
                scope["route"] = as_get["route"]
