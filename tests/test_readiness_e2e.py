"""Liveness and readiness of the running stack: every service's health listener and the gateway
answer ``/livez`` and ``/readyz`` with each check, and the ``--health`` probe asks ``/readyz``."""

from __future__ import annotations

import httpx
import pytest

from servicekit import health
from services.users.config import UsersSettings
from tests.stack import Stack

pytestmark = [pytest.mark.slow]


def test_every_service_is_live_and_ready_with_each_check(stack: Stack) -> None:
    for name in ("users", "seats", "teams", "activity"):
        ready = httpx.get(stack.readiness_urls[name], timeout=10)
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["ready"] is True
        assert set(body["checks"]) == {"database", "kafka", "consumers", "relay"}
        assert all(check["ok"] for check in body["checks"].values())
        assert "groups joined" in body["checks"]["consumers"]["detail"]
        live = httpx.get(stack.readiness_urls[name].replace("/readyz", "/livez"), timeout=10)
        assert live.status_code == 200 and live.json() == {"live": True}


def test_the_gateway_is_live_and_ready_and_keeps_healthz(stack: Stack) -> None:
    gateway = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    ready = httpx.get(f"{gateway}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"]) == {"database", "kafka", "replies"}
    assert ready.json()["checks"]["replies"] == {"ok": True, "detail": "1 partitions held"}
    for path in ("/livez", "/healthz"):
        assert httpx.get(f"{gateway}{path}", timeout=10).json() == {"live": True}


def test_the_health_probe_asks_readiness(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    port = httpx.URL(stack.readiness_urls["users"]).port
    assert port is not None
    settings = UsersSettings(health_port=port, database_url=stack.users_database_url)
    assert health.exit_status(settings) == 0
    closed = UsersSettings(health_port=1, database_url=stack.users_database_url)
    assert health.exit_status(closed) == 1


def _same_answer_without_body(url: str) -> httpx.Response:
    """RFC 9110 §9.3.2: HEAD answers with GET's status and header fields, and no body."""
    get, head = httpx.get(url, timeout=10), httpx.head(url, timeout=10)
    assert head.status_code == get.status_code, head.text
    assert head.content == b""
    for field in ("content-type", "content-length"):
        assert head.headers.get(field) == get.headers.get(field), field
    return head


def test_load_balancers_may_probe_with_head(stack: Stack) -> None:
    gateway = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    for path in ("/readyz", "/livez", "/healthz"):
        assert _same_answer_without_body(f"{gateway}{path}").status_code == 200
    for name in ("users", "seats", "teams", "activity"):
        ready = stack.readiness_urls[name]
        for url in (ready, ready.replace("/readyz", "/livez")):
            assert _same_answer_without_body(url).status_code == 200
