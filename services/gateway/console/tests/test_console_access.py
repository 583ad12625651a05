"""Sign-in, sessions, sign-out and CSRF: no console page or form is reachable without a session."""

from __future__ import annotations

import logging
import time

import pytest
from fastapi.routing import APIRoute

from services.gateway.console import ROUTERS
from services.gateway.console.sessions import COOKIE, Sessions
from services.gateway.console.tests.conftest import ADMIN_TOKEN, Console, csrf_of, signed_in

PUBLIC = {("GET", "/console/sign-in"), ("POST", "/console/sign-in")}


def _console_routes(console: Console) -> list[tuple[str, str]]:
    """Every console route, its path filled in with the tenant's id; new routes are covered as added."""
    routes = [
        (method, route.path.replace("{tenant_id}", console.tenant_id))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]
    assert len(routes) >= 15, routes
    return [route for route in routes if route not in PUBLIC]


def test_without_a_session_pages_redirect_to_sign_in_and_forms_are_refused(console: Console) -> None:
    client = console.client()
    for method, path in _console_routes(console):
        answer = client.request(method, path, data={"limit": "5", "token_id": "1"})
        if method == "GET":
            assert answer.status_code == 303, (path, answer.status_code)
            assert answer.headers["location"].startswith("/console/sign-in"), path
        else:
            assert answer.status_code == 401, (path, answer.status_code)
            assert "Sign in to the console first" in answer.text
    assert len(console.active_tokens()) == 1


def test_forged_or_anonymous_sessions_reach_nothing(console: Console) -> None:
    client = console.client()
    token = csrf_of(client.get("/console/sign-in").text)  # a session that is not signed in
    forged = console.client()
    forged.cookies.set(COOKIE, "eyJzaWQiOiJ4IiwiaW4iOnRydWV9.forged.signature", path="/console")
    for visitor in (client, forged):
        for method, path in _console_routes(console):
            answer = visitor.request(method, path, data={"csrf_token": token, "token_id": "1"})
            assert answer.status_code == (303 if method == "GET" else 401), (path, answer.status_code)
    assert len(console.active_tokens()) == 1


def test_the_sign_in_cookie_is_http_only_strict_and_secure_over_https(console: Console) -> None:
    for base_url, secure in (("http://testserver", False), ("https://testserver", True)):
        client = console.client(base_url)
        token = csrf_of(client.get("/console/sign-in").text)
        answer = client.post("/console/sign-in", data={"csrf_token": token, "admin_token": ADMIN_TOKEN})
        assert answer.status_code == 303
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
        assert "max-age=28800" in cookie
        assert ("secure" in cookie.split("; ")) is secure


def test_a_wrong_admin_token_is_refused_on_the_page(console: Console) -> None:
    client = console.client()
    token = csrf_of(client.get("/console/sign-in").text)
    for wrong, status in (("not-the-token", 401), ("", 400), (ADMIN_TOKEN + "x", 401)):
        answer = client.post("/console/sign-in", data={"csrf_token": token, "admin_token": wrong})
        assert answer.status_code == status, wrong
        assert 'role="alert"' in answer.text
        assert client.get("/console/tenants").status_code == 303


def test_sign_in_without_its_csrf_token_is_refused(console: Console) -> None:
    client = console.client()
    client.get("/console/sign-in")
    for data in ({"admin_token": ADMIN_TOKEN}, {"admin_token": ADMIN_TOKEN, "csrf_token": "0" * 64}):
        assert client.post("/console/sign-in", data=data).status_code == 403
    assert client.get("/console/tenants").status_code == 303
    # No session at all: nothing to check a token against.
    fresh = console.client()
    assert fresh.post("/console/sign-in", data={"admin_token": ADMIN_TOKEN}).status_code == 403


def test_sign_in_returns_to_the_page_asked_for_but_never_off_the_console(console: Console) -> None:
    wanted = f"/console/tenants/{console.tenant_id}/tokens"
    client = console.client()
    assert client.get(wanted).headers["location"] == f"/console/sign-in?next={wanted}"
    for next_page, landing in (
        (wanted, wanted),
        ("//evil.example/x", "/console/tenants"),
        ("/admin/v1", "/console/tenants"),
    ):
        token = csrf_of(client.get("/console/sign-in").text)
        data = {"csrf_token": token, "admin_token": ADMIN_TOKEN, "next": next_page}
        answer = client.post("/console/sign-in", data=data)
        assert answer.headers["location"] == landing
        client.cookies.clear()


def test_every_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing(console: Console) -> None:
    client, _ = signed_in(console)
    other_session_token = signed_in(console)[1]
    for method, path in _console_routes(console):
        if method != "POST":
            continue
        for data in ({}, {"csrf_token": other_session_token}):
            answer = client.post(path, data={**data, "limit": "7", "token_id": "1"})
            assert answer.status_code == 403, (path, answer.status_code)
            assert "This form has expired" in answer.text
    assert len(console.active_tokens()) == 1
    assert client.get("/console/tenants").status_code == 200  # still signed in


def test_sign_out_ends_the_session_even_for_a_copy_of_its_cookie(console: Console) -> None:
    client, token = signed_in(console)
    kept = client.cookies.get(COOKIE, path="/console")
    assert client.post("/console/sign-out", data={}).status_code == 403
    answer = client.post("/console/sign-out", data={"csrf_token": token})
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/sign-in")
    assert client.get("/console/tenants").status_code == 303
    replay = console.client()
    assert kept is not None
    replay.cookies.set(COOKIE, kept, path="/console")
    assert replay.get("/console/tenants").status_code == 303


def test_sessions_expire() -> None:
    sessions = Sessions(key=b"k" * 32, max_age_seconds=1)
    session, cookie = sessions.start(signed_in=True)
    assert sessions.read(cookie) == session
    time.sleep(2.1)  # itsdangerous stamps whole seconds
    assert sessions.read(cookie) is None


@pytest.mark.parametrize("changed", ["admin token", "session key"])
def test_a_new_admin_token_or_session_key_ends_every_session(changed: str) -> None:
    from services.gateway.config import GatewaySettings

    first = {"ROSTER_ADMIN_TOKEN": "t" * 32, "console_session_key": "s" * 32}
    second = {
        **first,
        **(
            {"ROSTER_ADMIN_TOKEN": "u" * 32}
            if changed == "admin token"
            else {"console_session_key": "z" * 32}
        ),
    }
    _, cookie = Sessions.from_settings(GatewaySettings.model_validate(first)).start(signed_in=True)
    assert Sessions.from_settings(GatewaySettings.model_validate(first)).read(cookie) is not None  # a restart
    assert Sessions.from_settings(GatewaySettings.model_validate(second)).read(cookie) is None


def test_every_console_form_sent_leaves_an_audit_line(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="roster.audit")
    stranger = console.client("http://testserver")
    token = csrf_of(stranger.get("/console/sign-in").text)
    wrong = stranger.post("/console/sign-in", data={"csrf_token": token, "admin_token": "x" * 40})
    assert wrong.status_code == 401
    forged = stranger.post("/console/sign-in", data={"admin_token": "x" * 40})  # no CSRF token
    assert forged.status_code == 403
    client, csrf = signed_in(console)
    client.post(f"/console/tenants/{console.tenant_id}/tokens/revoke-all", data={"csrf_token": csrf})
    lines = [
        (record.__dict__["who"], record.__dict__["action"], record.__dict__["status"])
        for record in caplog.records
    ]
    assert lines == [
        ("unauthenticated", "POST /console/sign-in", 401),  # an attempt, not the admin's own change
        ("unauthenticated", "POST /console/sign-in", 403),
        ("console-session", "POST /console/sign-in", 303),
        ("console-session", "POST /console/tenants/{tenant_id}/tokens/revoke-all", 303),
    ]
    assert "tenant" not in caplog.records[2].__dict__ or caplog.records[2].__dict__["tenant"] is None
