"""Signing in to the console with the admin credential, and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.gateway.console.access import (
    FormSession,
    PageSession,
    SignInFormSession,
    current_session,
    sessions_of,
)
from services.gateway.console.forms import FormRefused, SignIn, form_values, parsed
from services.gateway.console.rendering import (
    ConsoleRoute,
    clear_session_cookie,
    redirect,
    render,
    set_session_cookie,
)
from services.gateway.http.auth import is_admin_token
from services.gateway.http.dependencies import SettingsDep

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

HOME = "/console/tenants"


def _next_page(next_path: str | None) -> str:
    """Only a console page of this site: never an open redirect."""
    if next_path and next_path.startswith("/console/") and "//" not in next_path and "\\" not in next_path:
        return next_path
    return HOME


@router.get("")
@router.get("/")
async def home(_session: PageSession) -> Response:
    return redirect(HOME)


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    session = current_session(request)
    if session is not None and session.signed_in:
        return redirect(_next_page(next))
    cookie = None
    if session is None:
        session, cookie = sessions_of(request).start(signed_in=False)
    page = render(request, "sign_in.html", session=session, next=_next_page(next))
    if cookie is not None:
        set_session_cookie(request, page, cookie)
    return page


@router.post("/sign-in")
async def sign_in(request: Request, session: SignInFormSession, settings: SettingsDep) -> Response:
    values = await form_values(request)
    next_page = _next_page(values.get("next"))
    try:
        token = parsed(SignIn, values).admin_token
    except FormRefused as refusal:
        return render(
            request, "sign_in.html", session=session, status=400, next=next_page, error=refusal.message
        )
    if not is_admin_token(settings, token):
        message = "That is not the admin token (ROSTER_ADMIN_TOKEN)."
        return render(request, "sign_in.html", session=session, status=401, next=next_page, error=message)
    _signed_in, cookie = sessions_of(request).start(signed_in=True)
    answer = redirect(next_page)
    set_session_cookie(request, answer, cookie)
    return answer


@router.post("/sign-out")
async def sign_out(request: Request, session: FormSession) -> Response:
    sessions_of(request).sign_out(session)
    answer = redirect("/console/sign-in")
    clear_session_cookie(request, answer)
    return answer
