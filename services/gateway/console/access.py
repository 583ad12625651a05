"""Who may see a console page or send a console form.

Pages without a signed-in session redirect to the sign-in page; forms (POST) without one are refused
with 401, and with a missing or wrong CSRF token with 403, before anything is read or changed.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from services.gateway.console.sessions import COOKIE, ConsoleSession, Sessions
from services.gateway.http.body import read_form_body

SIGN_IN_PATH = "/console/sign-in"
CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """A page asked for without a signed-in session: answered with a redirect to the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.location = f"{SIGN_IN_PATH}?next={quote(path, safe='/')}"


class ConsoleRefusal(Exception):
    """Answered with an HTML page carrying ``message`` and ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def sessions_of(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.console_sessions
    return sessions


def current_session(request: Request) -> ConsoleSession | None:
    return sessions_of(request).read(request.cookies.get(COOKIE))


async def _page_session(request: Request) -> ConsoleSession:
    session = current_session(request)
    if session is None or not session.signed_in:
        raise SignInRequired(request.url.path)
    return session


async def _checked_form(request: Request, session: ConsoleSession | None) -> ConsoleSession:
    if session is None:
        raise ConsoleRefusal(403, "This form has expired. Open the page again and resend it.")
    await read_form_body(request)
    form = await request.form()
    presented = form.get(CSRF_FIELD)
    if not sessions_of(request).csrf_valid(session, presented if isinstance(presented, str) else None):
        raise ConsoleRefusal(403, "This form has expired. Open the page again and resend it.")
    return session


async def _form_session(request: Request) -> ConsoleSession:
    session = current_session(request)
    if session is None or not session.signed_in:
        raise ConsoleRefusal(401, "Sign in to the console first.")
    return await _checked_form(request, session)


async def _sign_in_form_session(request: Request) -> ConsoleSession:
    """The sign-in form is sent from a session that is not signed in yet (login CSRF)."""
    return await _checked_form(request, current_session(request))


PageSession = Annotated[ConsoleSession, Depends(_page_session)]
FormSession = Annotated[ConsoleSession, Depends(_form_session)]
SignInFormSession = Annotated[ConsoleSession, Depends(_sign_in_form_session)]
