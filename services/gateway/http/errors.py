"""SCIM Error responses (RFC 7644 §3.12): always ``application/scim+json`` with an actionable detail.

Every refusal is a scim2-models ``SCIMException``; this module adds only what the library has no class
for (an owner's rejection, 429, 503) and the response headers that go with a status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from scim2_models import Error, SCIMException
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.rejections import SCIM_ERROR_FOR, RejectionReason
from contracts.replies import CommandRejected
from services.gateway.config import GatewaySettings
from services.gateway.http.correlator import ServiceUnavailable
from services.gateway.http.responses import ScimResponse
from services.gateway.request_context import quotable

log = logging.getLogger(__name__)

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="roster"'}


class Refused(SCIMException):
    """An owner's ``CommandRejected``, as the SCIM error its reason stands for (contracts/rejections.py)."""

    def __init__(self, rejection: CommandRejected) -> None:
        super().__init__(detail=rejection.detail)
        shape = SCIM_ERROR_FOR[rejection.reason]
        self.status = shape.status
        self.scim_type = shape.scim_type or ""
        self.reason = rejection.reason


class TooManyRequests(SCIMException):
    """RFC 6585 §4: the tenant is over its rate; Okta retries a 429 on its own after ``Retry-After``."""

    status = 429

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(detail=f"Too many requests for this tenant; retry after {retry_after} s.")
        self.retry_after = retry_after


class BodyTimedOut(SCIMException):
    """408 (RFC 9110 §15.5.9) for a body not received in full in time, answered with ``Connection:
    close``: what is still on its way must not be read as the connection's next request."""

    status = 408


class UnsupportedContentCoding(SCIMException):
    """415 for a compressed body, answered with ``Accept-Encoding: identity``: RFC 9110 §15.5.16 asks
    the answer to name the codings that would have been accepted (§12.5.3), here none but identity."""

    status = 415


class Unavailable(SCIMException):
    """503: answered with the ``Retry-After`` of the settings (RFC 7231 §7.1.3); Okta retries on its own."""

    status = 503


def error_with_status(status: int, detail: str) -> SCIMException:
    """A status the library has no exception class for (500, 502)."""
    return SCIMException.from_error(Error(status=status, detail=detail))


def refusal(
    error: ValidationError,
    *,
    operations_sent_at: Sequence[int] | None = None,
) -> SCIMException:
    """A request scim2-models refused, as the SCIM error it reads it as (``Error.from_validation_error``:
    the message and the attribute path, never the input, which may hold a password). The one place a
    validation failure at the edge becomes a SCIM error. ``operations_sent_at``: the position each
    PATCH operation validated had in the request as the client sent it, when the operations were
    split or some read apart before validation."""
    first = error.errors(include_url=False, include_input=False)[0]
    loc = tuple(first["loc"])
    if operations_sent_at is not None and _names_an_operation(loc, operations_sent_at):
        first["loc"] = (loc[0], operations_sent_at[int(loc[1])], *loc[2:])
    # A value assigned to a model already built (a PATCH being applied) is located by Python field
    # names; the client knows only the SCIM names (RFC 7643 §2.1), which are their camelCase.
    first["loc"] = tuple(_scim_name(part) for part in first["loc"])
    scim_error = Error.from_validation_error(first)
    if first["type"].startswith("scim_") and first["loc"]:
        # The library names the place of its other errors only (``…: Operations[1].value``); a client
        # with many operations must learn which one holds the malformed path too.
        scim_error = scim_error.model_copy(update={"detail": f"{scim_error.detail}: {_place(first['loc'])}"})
    if first["type"] == "schema_error":
        # A body naming another schema is invalidSyntax to scim2-models; Roster has answered invalidValue
        # (the value of ``schemas`` does not fit, RFC 7644 §3.12) from the start, and the tests pin it.
        scim_error = scim_error.model_copy(update={"scim_type": "invalidValue"})
    return SCIMException.from_error(scim_error)


def _names_an_operation(loc: tuple[str | int, ...], operations: Sequence[int]) -> bool:
    """``loc`` is ``("Operations", <n>, …)`` for one of the operations validated."""
    return len(loc) > 1 and loc[0] == "Operations" and isinstance(loc[1], int) and loc[1] < len(operations)


def _place(loc: Sequence[str | int]) -> str:
    """Where an error is, in the notation scim2-models writes it: an index in brackets
    (``Operations[1].path``)."""
    place = ""
    for part in loc:
        place += f"[{part}]" if isinstance(part, int) else f".{part}" if place else str(part)
    return place


def _scim_name(part: str | int) -> str | int:
    if isinstance(part, int) or part.lower().startswith("urn:") or "_" not in part.strip("_"):
        return part
    return to_camel(part)


def error_headers(request: Request, error: SCIMException) -> dict[str, str]:
    """The header fields an error answer carries, a SCIM answer or a console page alike."""
    if isinstance(error, TooManyRequests):
        return {"Retry-After": str(error.retry_after)}
    if isinstance(error, UnsupportedContentCoding):
        return {"Accept-Encoding": "identity"}
    if isinstance(error, BodyTimedOut):
        return {"Connection": "close"}
    if error.status == 503:
        settings: GatewaySettings = request.app.state.settings
        return {"Retry-After": str(settings.retry_after_seconds)}
    if error.status == 401:
        return CHALLENGE
    return {}


def error_response(error: SCIMException, headers: dict[str, str] | None = None) -> ScimResponse:
    body: dict[str, Any] = error.to_error().model_dump()
    return ScimResponse(body, status_code=error.status, headers=headers)


def _refusal_reason(error: SCIMException) -> str | None:
    """The refusals operators watch per tenant (``roster_requests_refused_total``)."""
    if isinstance(error, TooManyRequests):
        return "rate_limit"
    if isinstance(error, Refused) and error.reason is RejectionReason.SEAT_LIMIT_REACHED:
        return "seat_limit"
    return "uniqueness" if error.scim_type == "uniqueness" else None


async def _on_scim_exception(request: Request, error: Exception) -> ScimResponse:
    assert isinstance(error, SCIMException)
    reason = _refusal_reason(error)
    metrics = getattr(request.app.state, "metrics", None)
    tenant = getattr(request.state, "tenant", None)  # set by a SCIM token; the admin API's are not counted
    if reason is not None and metrics is not None and tenant is not None:
        metrics.refused(tenant=tenant, reason=reason)
    if error.status >= 500:
        error = error_with_status(error.status, quotable(error.detail or "Roster could not answer."))
    return error_response(error, error_headers(request, error))


def routing_refusal(request: Request, error: StarletteHTTPException) -> tuple[str, dict[str, str]]:
    """The detail and headers answering a routing error (no route, a method the path does not take)."""
    detail = error.detail if isinstance(error.detail, str) else "Request failed."
    headers = dict(error.headers or {})
    if error.status_code == 405:
        if not isinstance(error, _OnlyAllowing):  # Starlette's own names the first route's methods only
            headers["Allow"] = _allowed_methods(request)
        detail = f"{request.method} is not allowed on this path; use {headers['Allow']}."
    return detail, headers


async def answer_http_error_as_scim(request: Request, error: Exception) -> ScimResponse:
    assert isinstance(error, StarletteHTTPException)
    detail, headers = routing_refusal(request, error)
    return error_response(error_with_status(error.status_code, detail), headers)


def only_allowing(*allowed: str) -> Callable[[], Awaitable[None]]:
    """The endpoint of a route that only refuses (405, ``Allow: <allowed>``): for a path that a route
    with a path parameter would otherwise take (``GET /Users/.search`` is no user whose id is
    ``.search``), where the router cannot tell which route serves which method."""

    async def method_not_allowed() -> None:
        raise _OnlyAllowing(status_code=405, headers={"Allow": ", ".join(allowed)})

    return method_not_allowed


class _OnlyAllowing(StarletteHTTPException):
    """A 405 whose ``Allow`` its route knows."""


def _allowed_methods(request: Request) -> str:
    """RFC 9110 §15.5.6: every method some route serves at this path, as Starlette's own matching finds
    them. Starlette's ``Allow`` names only the first route matching the path, and FastAPI makes one route
    per method."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    if "GET" in allowed:  # servicekit.head_requests answers HEAD wherever GET is served
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return ", ".join(allowed)


def validation_detail(error: RequestValidationError) -> str:
    """What FastAPI's own parameter and body checks refused, in one sentence."""
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"Invalid request parameter {where}: {first.get('msg', 'invalid value')}."


async def answer_validation_error_as_scim(_request: Request, error: Exception) -> ScimResponse:
    """FastAPI's own parameter and body checks (the admin API's JSON bodies, path parameters)."""
    assert isinstance(error, RequestValidationError)
    return error_response(
        SCIMException.from_error(Error(status=400, scim_type="invalidValue", detail=validation_detail(error)))
    )


async def _on_unavailable(request: Request, error: Exception) -> ScimResponse:
    """No answer from an owner in time, or the gateway's own database (tokens, rate budgets) refused
    or lost the connection: a passing outage, answered as one (503 + Retry-After, which Okta
    retries), not as a bug."""
    log.warning("answering 503: %r", error)
    unavailable = Unavailable(
        detail=quotable("Roster is temporarily unable to process this request. Please retry shortly.")
    )
    return error_response(unavailable, error_headers(request, unavailable))


async def _on_unexpected(_request: Request, error: Exception) -> ScimResponse:
    log.error("unexpected error: %r", error, exc_info=error)
    detail = quotable("Roster hit an unexpected error. Please retry; if it persists, contact support.")
    # Starlette re-raises after this answer and the server then drops the connection: say so, or a
    # client reusing the keep-alive connection gets a reset on its next request (RFC 9112 §9.6).
    return error_response(error_with_status(500, detail), {"Connection": "close"})


def install_scim_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SCIMException, _on_scim_exception)
    app.add_exception_handler(StarletteHTTPException, answer_http_error_as_scim)
    app.add_exception_handler(RequestValidationError, answer_validation_error_as_scim)
    for unavailable in (ServiceUnavailable, OperationalError, InterfaceError):
        app.add_exception_handler(unavailable, _on_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)  # for failures outside UnexpectedErrors


class UnexpectedErrors:
    """Pure ASGI middleware, inside ``RequestContext``: an exception no handler took is answered here,
    a SCIM 500 whose detail and ``X-Request-ID`` carry the request id. Starlette's own handler for
    ``Exception`` runs outside every middleware, where the request id is neither known nor sent."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, tracking)
        except Exception as error:
            if started:
                raise
            response = await _on_unexpected(Request(scope), error)
            await response(scope, receive, send)
