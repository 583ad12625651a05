"""``HEAD`` answered as ``GET`` would be, without the body.

RFC 9110 §9.1: every general-purpose server supports GET and HEAD; §9.3.2: HEAD's answer carries the
header fields GET's would, ``Content-Length`` included. FastAPI routes answer only the methods they
declare (Starlette's plain routes add HEAD for themselves, FastAPI's do not), so a load balancer's
``HEAD /readyz`` got 405. Written by hand because neither FastAPI nor Starlette offers it for
FastAPI's routes; it is one scope rewrite.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    """Pure ASGI middleware: the app sees ``GET``; the body it sends is dropped, its headers kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps its own scope saying HEAD, so it writes no body either.
        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
