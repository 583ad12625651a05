"""Every request's id and log fields, and the admin audit trail.

Each answer carries ``X-Request-ID``: the client's own if it is a sane token (Okta and proxies may
send one), else one minted here. Every line logged while the request is handled carries it, with
the tenant once the token is known and the correlation id of the last Kafka conversation the request
started (servicekit/logs.py). Each request answered leaves one ``roster.requests`` line with those
fields (probes and metric scrapes excepted), so a quoted request id leads to its correlation id: to
the activity log's entries for it, and to any service line about it.

Each admin change (any admin request but a read, and any console form) leaves one ``roster.audit``
line: who (the admin credential, or a console session, from which address), what (method and route),
on which tenant, and the status.
"""

from __future__ import annotations

import logging
import re
import time
from uuid import uuid4

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.logs import annotate, current, log_context

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_ADMIN_PREFIX = "/admin/v1"
_CONSOLE_PREFIX = "/console/"
_READS = {"GET", "HEAD", "OPTIONS"}

audit_log = logging.getLogger("roster.audit")
request_log = logging.getLogger("roster.requests")
_UNLOGGED = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})  # probes and scrapes, every few seconds


def request_id_of(headers: list[tuple[bytes, bytes]]) -> str:
    sent = next((value for name, value in headers if name.lower() == b"x-request-id"), b"")
    text = sent.decode("latin-1").strip()
    return text if _SANE_REQUEST_ID.fullmatch(text) else uuid4().hex


def quotable(detail: str) -> str:
    """A 5xx detail with the request id an identity provider's admin can quote to support."""
    request_id = current("request_id")
    return f"{detail} Request id: {request_id}." if request_id else detail


class RequestContext:
    """Pure ASGI middleware: the log fields must reach the route's own context (and the threads
    FastAPI runs sync dependencies in), which a ``BaseHTTPMiddleware`` task would not share."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        started = time.perf_counter()
        with log_context(request_id=request_id):
            try:
                await self._app(scope, receive, send_with_id)
            finally:
                if _is_admin_change(scope):
                    _audit(scope, status)
                elif scope["path"] not in _UNLOGGED:
                    _answered(scope, status, started)


def _answered(scope: Scope, status: int, started: float) -> None:
    """The request's one line: with the log fields (request id, tenant, the correlation id of its last
    Kafka conversation), it joins a quoted request id to the activity log and the services' lines.
    The path only: a query string may hold a filter naming a person."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    request_log.info(
        "%s %s -> %d in %.1f ms",
        scope["method"],
        scope["path"],
        status,
        duration_ms,
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": duration_ms,
        },
    )


def _is_admin_change(scope: Scope) -> bool:
    """The admin API's changes, and the console's forms (its sign-ins too), which change through it."""
    path = str(scope["path"])
    return path.startswith((_ADMIN_PREFIX, _CONSOLE_PREFIX)) and scope["method"] not in _READS


def _who(scope: Scope, status: int) -> str:
    """The credential the change was made with; a 401 or 403 was made with none accepted (a missing or
    wrong token, no session, a console form without its CSRF token), and an auditor must tell such an
    attempt from the admin's own changes."""
    if status in (401, 403):
        return "unauthenticated"
    return "console-session" if str(scope["path"]).startswith(_CONSOLE_PREFIX) else "admin-token"


def _audit(scope: Scope, status: int) -> None:
    route = scope.get("route")
    template = getattr(route, "path", scope["path"])
    tenant = scope.get("path_params", {}).get("tenant_id")
    if tenant is not None:
        annotate(tenant=tenant)
    client = scope.get("client")
    audit_log.info(
        "admin %s %s -> %d",
        scope["method"],
        template,
        status,
        extra={
            "audit": True,
            "who": _who(scope, status),
            "client": client[0] if client else None,
            "action": f"{scope['method']} {template}",
            "status": status,
        },
    )
