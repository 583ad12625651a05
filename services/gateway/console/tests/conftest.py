"""The real gateway app on a real (SQLite) database, driven in-process, with Kafka unreachable: the
console's sign-in, sessions, CSRF, tokens and form checks need no service; pages that ask one show that
it did not answer. The whole stack behind the console is driven by a browser in test_console_browser.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from servicekit.kafka import make_broker
from services.gateway import store
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.http.correlator import ReplyCorrelator, Requester
from services.gateway.owners import Owners
from services.gateway.tests.database import gateway_database

ADMIN_TOKEN = "console-admin-" + "a" * 32


@dataclass
class Console:
    app: FastAPI
    engine: Engine
    tenant_id: str
    scim_token: str

    def client(self, base_url: str = "http://testserver") -> TestClient:
        return TestClient(self.app, base_url=base_url, follow_redirects=False)

    def active_tokens(self) -> list[int]:
        with Session(self.engine) as session:
            return [token.id or 0 for token in store.active_tokens(session, tenant_id=self.tenant_id)]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    engine, tenant_id, scim_token = gateway_database(tmp_path)
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": ADMIN_TOKEN, "database_url": str(engine.url), "request_timeout_seconds": 1}
    )
    app = create_app(settings)
    # The app's start-up (which connects to Kafka) is skipped; what it sets is set here, with the real
    # requester over a broker that never connected: every question to a service fails at once.
    app.state.engine = engine
    requester = Requester(
        broker=make_broker(settings, client_id="console-test"),
        correlator=ReplyCorrelator(),
        reply_topic="unused",
        timeout=settings.request_timeout_seconds,
    )
    app.state.owners = Owners.over(requester)
    try:
        yield Console(app=app, engine=engine, tenant_id=tenant_id, scim_token=scim_token)
    finally:
        engine.dispose()


def csrf_of(page: str) -> str:
    marker = 'name="csrf_token" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def signed_in(console: Console, base_url: str = "http://testserver") -> tuple[TestClient, str]:
    """A client holding a signed-in session, and that session's CSRF token."""
    client = console.client(base_url)
    token = csrf_of(client.get("/console/sign-in").text)
    answer = client.post("/console/sign-in", data={"csrf_token": token, "admin_token": ADMIN_TOKEN})
    assert answer.status_code == 303, answer.text
    page = client.get("/console/tenants")
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)
