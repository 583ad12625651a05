"""What the gateway does while, and after, it waits on an owner: no database connection held meanwhile,
and one ``Retry-After`` (the setting) on every 503. Kafka and the owners are stood in for by ``Wire``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from contracts.envelope import Message
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.users import GetUser, ReplaceUser
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.http.correlator import ServiceUnavailable
from services.gateway.owners import Owners
from services.gateway.scim.users.patching import PATCH_OP_URN
from services.gateway.tests.database import gateway_database
from services.gateway.tests.wire import Wire

ADMIN = {"Authorization": f"Bearer {'a' * 32}"}
RETRY_AFTER = 7


@dataclass
class Gateway:
    client: TestClient
    engine: Engine
    wire: Wire
    tenant_id: str
    scim: dict[str, str]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": "a" * 32, "retry_after_seconds": RETRY_AFTER}
    )
    engine, tenant_id, token = gateway_database(tmp_path)
    app = create_app(settings)  # the app's own routes and error handlers
    # What its lifespan would wire, but with Wire in place of Kafka; the client is not entered, so the
    # lifespan (which connects to Kafka) does not run.
    app.state.engine = engine
    wire = Wire()
    app.state.owners = Owners.over(wire)
    yield Gateway(TestClient(app), engine, wire, tenant_id, {"Authorization": f"Bearer {token}"})
    engine.dispose()


ADMIN_CALLS = [
    ("GET", "/seats", None),
    ("PUT", "/seats", {"limit": 9}),
    ("POST", "/seats/reconcile?repair=true", None),
    ("GET", "/teams", None),
    ("POST", "/teams", {"display_name": "Sales", "member_ids": ["u1"]}),
    ("PATCH", "/teams/t1", {"display_name": "Sales"}),
    ("POST", "/teams/t1/members", {"add": ["u1"]}),
    ("POST", "/teams/t1/release", None),
    ("DELETE", "/teams/t1", None),
    ("GET", "/default-manager", None),
    ("PUT", "/default-manager", {"user_id": "u1"}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_admin_routes_hold_no_database_connection_while_they_wait(
    gateway: Gateway, method: str, path: str, body: Any
) -> None:
    held: list[int] = []
    gateway.wire.on_ask = lambda: held.append(gateway.engine.pool.checkedout())  # type: ignore[attr-defined]
    url = f"/admin/v1/tenants/{gateway.tenant_id}{path}"
    response = gateway.client.request(method, url, json=body, headers=ADMIN)
    assert response.status_code < 300, response.text
    assert held and set(held) == {0}


USER_ID = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"  # shaped as Roster mints ids


def _rejected(reason: RejectionReason, kind: type[Message]) -> Any:
    return lambda message: (
        CommandRejected(reason=reason, detail="busy") if isinstance(message, kind) else None
    )


def test_a_change_pending_answers_503_with_the_configured_retry_after(gateway: Gateway) -> None:
    gateway.wire.answer = _rejected(RejectionReason.CHANGE_PENDING, GetUser)
    response = gateway.client.get(f"/scim/v2/Users/{USER_ID}", headers=gateway.scim)
    assert (response.status_code, response.headers["Retry-After"]) == (503, str(RETRY_AFTER))


def test_a_patch_losing_every_race_answers_503_with_the_configured_retry_after(gateway: Gateway) -> None:
    gateway.wire.answer = _rejected(RejectionReason.VERSION_MISMATCH, ReplaceUser)
    body = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "path": "title", "value": "VP"}]}
    response = gateway.client.patch(f"/scim/v2/Users/{USER_ID}", json=body, headers=gateway.scim)
    assert (response.status_code, response.headers["Retry-After"]) == (503, str(RETRY_AFTER))
    assert sum(isinstance(p.message, ReplaceUser) for p in gateway.wire.published) == 3


def test_no_answer_in_time_answers_503_with_the_configured_retry_after(gateway: Gateway) -> None:
    def timed_out(_message: Message) -> Message:
        raise ServiceUnavailable("no reply to GetUser within 15s")

    gateway.wire.answer = timed_out
    response = gateway.client.get(f"/scim/v2/Users/{USER_ID}", headers=gateway.scim)
    assert (response.status_code, response.headers["Retry-After"]) == (503, str(RETRY_AFTER))
