"""The console's HTML: one Jinja2 environment, one way to answer a page, and the same page shape for
every refusal (a console route never answers with SCIM JSON)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from scim2_models import SCIMException
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.gateway.console.access import ConsoleRefusal, SignInRequired, current_session, sessions_of
from services.gateway.console.sessions import COOKIE, COOKIE_PATH, ConsoleSession
from services.gateway.http.correlator import ServiceUnavailable
from services.gateway.http.errors import (
    answer_http_error_as_scim,
    answer_validation_error_as_scim,
    error_headers,
    routing_refusal,
    validation_detail,
)

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
UNAVAILABLE = "A Roster service did not answer in time. Reload the page in a moment."


@cache
def _templates() -> Jinja2Templates:
    return Jinja2Templates(directory=TEMPLATES)


def render(
    request: Request, template: str, *, session: ConsoleSession | None, status: int = 200, **context: Any
) -> HTMLResponse:
    page = _templates().TemplateResponse(
        request, template, {"session": session, **context}, status_code=status
    )
    page.headers["Cache-Control"] = "no-store"  # pages hold tenant data and CSRF tokens
    return page


def set_session_cookie(request: Request, response: Response, cookie: str) -> None:
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=sessions_of(request).max_age_seconds,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303)


def refusal_page(
    request: Request,
    status: int,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    heading: str | None = None,
) -> HTMLResponse:
    session = current_session(request)
    page = render(request, "refused.html", session=session, status=status, message=message, heading=heading)
    page.headers.update(headers or {})
    return page


async def _on_sign_in_required(_request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    return redirect(error.location)


async def _on_refusal(request: Request, error: Exception) -> Response:
    assert isinstance(error, ConsoleRefusal)
    return refusal_page(request, error.status, error.message)


CONSOLE_ERROR_HANDLERS: dict[
    type[Exception], Callable[[Request, Exception], Coroutine[Any, Any, Response]]
] = {
    SignInRequired: _on_sign_in_required,
    ConsoleRefusal: _on_refusal,
}


def answer_console_paths_with_pages(app: FastAPI) -> None:
    """What the app answers before any console route runs — a path no route serves, a method a page
    does not take, a query parameter of the wrong form — is a console page on a console path (the
    status, detail and ``Allow`` the SCIM answer would have), as every other console refusal is; other
    paths keep the SCIM answer. Registered after the app's own handlers, so in their place."""

    async def on_http_error(request: Request, error: Exception) -> Response:
        if not _on_the_console(request) or not isinstance(error, StarletteHTTPException):
            return await answer_http_error_as_scim(request, error)
        detail, headers = routing_refusal(request, error)
        if error.status_code == 404:
            return refusal_page(request, 404, "There is no such page in the console.", heading="No such page")
        return refusal_page(request, error.status_code, detail, headers=headers)

    async def on_validation_error(request: Request, error: Exception) -> Response:
        if not _on_the_console(request) or not isinstance(error, RequestValidationError):
            return await answer_validation_error_as_scim(request, error)
        return refusal_page(request, 400, validation_detail(error))

    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)


def _on_the_console(request: Request) -> bool:
    path = request.url.path  # the session cookie's path is the console's: /console and below
    return path == COOKIE_PATH or path.startswith(f"{COOKIE_PATH}/")


class ConsoleRoute(APIRoute):
    """What the admin functions a console route calls raise (an unknown tenant, an owner's refusal, a
    service that did not answer) becomes a console page with the same status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except SCIMException as error:
                headers = error_headers(request, error)  # a 408's Connection: close, a 503's Retry-After
                return refusal_page(
                    request, error.status, error.detail or "Request refused.", headers=headers
                )
            except ServiceUnavailable as error:
                log.warning("console answering 503: %s", error)
                return refusal_page(request, 503, UNAVAILABLE)

        return handle_as_page
