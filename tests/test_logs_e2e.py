"""Logs and request ids of the running stack: every answer carries ``X-Request-ID`` (the client's
if sane, else minted), each admin change leaves an audit line with who, what and the tenant, and no
token or password sent to Roster appears in any process's log."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import pytest

from tests.okta import user_body
from tests.stack import Stack, Tenant

pytestmark = [pytest.mark.slow]


def _json_lines(stack: Stack, log_name: str) -> list[dict[str, Any]]:
    text = (stack.state_dir / "logs" / log_name).read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _audit_lines_until(stack: Stack, request_id: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The gateway's audit lines once the one of ``request_id`` is written: a request is audited after
    its answer was sent, so the client may read the log a moment before the line is there."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [line for line in _json_lines(stack, "gateway-0.log") if line.get("audit")]
        if any(line.get("request_id") == request_id for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_every_answer_carries_a_request_id_the_client_may_choose(scim: httpx.Client) -> None:
    minted = scim.get("/Users", params={"count": "0"})
    assert len(minted.headers["x-request-id"]) == 32
    assert scim.get("/Users", params={"count": "0"}).headers["x-request-id"] != minted.headers["x-request-id"]
    chosen = scim.get("/Users/nobody", headers={"X-Request-ID": "okta-req.42:a_b"})
    assert chosen.status_code == 404 and chosen.headers["x-request-id"] == "okta-req.42:a_b"
    for insane in ("has spaces", "x" * 200, "<script>"):
        refused = scim.get("/Users", params={"count": "0"}, headers={"X-Request-ID": insane})
        assert refused.headers["x-request-id"] != insane
        assert len(refused.headers["x-request-id"]) == 32


def test_each_admin_change_leaves_an_audit_line(stack: Stack) -> None:
    request_id = f"audit-{secrets.token_hex(4)}"
    with stack.admin() as admin:
        created = admin.post("/tenants", json={"name": request_id}, headers={"X-Request-ID": request_id})
        tenant_id = created.json()["id"]
        limit = admin.put(
            f"/tenants/{tenant_id}/seats", json={"limit": 5}, headers={"X-Request-ID": "seat-" + request_id}
        )
        assert limit.status_code == 200, limit.text
        admin.get("/tenants", headers={"X-Request-ID": "read-" + request_id})
        forged = {"Authorization": "Bearer not-the-admin-token", "X-Request-ID": "forged-" + request_id}
        assert admin.post("/tenants", json={"name": "x"}, headers=forged).status_code == 401
    lines = _audit_lines_until(stack, "forged-" + request_id)
    (attempt,) = [line for line in lines if line.get("request_id") == "forged-" + request_id]
    assert (attempt["who"], attempt["status"]) == ("unauthenticated", 401)
    (create,) = [line for line in lines if line.get("request_id") == request_id]
    assert create["action"] == "POST /admin/v1/tenants" and create["tenant"] == tenant_id
    assert create["who"] == "admin-token" and create["status"] == 201 and create["service"] == "gateway"
    (seats,) = [line for line in lines if line.get("request_id") == "seat-" + request_id]
    assert seats["action"] == "PUT /admin/v1/tenants/{tenant_id}/seats" and seats["tenant"] == tenant_id
    assert not [line for line in lines if line.get("request_id") == "read-" + request_id]


def _request_line(stack: Stack, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [
            line
            for line in _json_lines(stack, "gateway-0.log")
            if line.get("logger") == "roster.requests" and line.get("request_id") == request_id
        ]
        if lines or time.monotonic() > deadline:
            (line,) = lines
            return line
        time.sleep(0.1)


def test_each_request_logs_one_line_whose_correlation_id_finds_what_it_caused(
    stack: Stack, scim: httpx.Client, tenant: Tenant
) -> None:
    request_id = f"trail-{secrets.token_hex(4)}"
    user_name = f"{request_id}@example.com"
    created = scim.post("/Users", json=user_body(user_name), headers={"X-Request-ID": request_id})
    assert created.status_code == 201, created.text
    line = _request_line(stack, request_id)
    assert (line["method"], line["path"], line["status"], line["tenant"]) == (
        "POST",
        "/scim/v2/Users",
        201,
        tenant.id,
    )
    assert line["message"].startswith("POST /scim/v2/Users -> 201 in ") and line["duration_ms"] > 0
    searched = scim.get(
        "/Users", params={"filter": f'userName eq "{user_name}"'}, headers={"X-Request-ID": "q-" + request_id}
    )
    assert searched.status_code == 200
    assert user_name not in json.dumps(_request_line(stack, "q-" + request_id))  # never the query
    deadline = time.monotonic() + 15
    with stack.admin() as admin:
        while True:
            activity = admin.get(
                f"/tenants/{tenant.id}/activity", params={"correlation_id": line["correlation_id"]}
            )
            summaries = {entry["summary"] for entry in activity.json()["entries"]}
            if {"POST User", "UserCreated"} <= summaries or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert {"POST User", "UserCreated", "SeatReserved"} <= summaries
    with stack.admin() as admin:  # the request id alone, as Okta shows it, finds the same
        by_request = admin.get(f"/tenants/{tenant.id}/activity", params={"request_id": request_id}).json()
    assert {entry["summary"] for entry in by_request["entries"]} == summaries
    assert scim.get("/Users", params={"count": "0"}).status_code == 200
    probes = [
        entry for entry in _json_lines(stack, "gateway-0.log") if entry.get("path") in ("/readyz", "/metrics")
    ]
    assert probes == []


def test_no_token_or_password_reaches_any_log(stack: Stack, scim: httpx.Client, tenant: Tenant) -> None:
    password = f"Pw-{secrets.token_urlsafe(12)}"
    body = user_body("secret.keeper@example.com", password=password)
    assert scim.post("/Users", json=body).status_code == 201
    assert scim.post("/Users", json=body).status_code == 409
    assert scim.post("/Users", json={**body, "userName": ""}).status_code == 400
    with stack.admin() as admin:
        rotated = admin.post(f"/tenants/{tenant.id}/tokens").json()["token"]
    secrets_sent = {"admin token": stack.admin_token, "SCIM token": tenant.token, "new token": rotated}
    secrets_sent["password"] = password
    logs = sorted((stack.state_dir / "logs").glob("*.log"))
    assert logs
    for log in logs:
        text = log.read_text(errors="replace")
        for what, secret in secrets_sent.items():
            assert secret not in text, f"the {what} is in {log.name}"
