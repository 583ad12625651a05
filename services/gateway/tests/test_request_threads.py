"""A SCIM request whose token this instance found valid a moment ago, and whose tenant's rate budget it
holds, takes no worker thread: every dependency runs on the event loop. Only a token look-up or a lease
of the shared budget touch the database, each in a worker thread; every hop there and back is latency a
request pays before the owner is even asked (BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import fastapi.dependencies.utils
import pytest
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

from contracts.ids import mint_id
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.http import auth
from services.gateway.owners import Owners
from services.gateway.tests.database import gateway_database
from services.gateway.tests.wire import Wire
from tests.okta import user_body

ADMIN = {"Authorization": "Bearer " + "a" * 32}


class Scim(NamedTuple):
    client: TestClient
    auth: dict[str, str]
    tenant_id: str


@pytest.fixture
def scim(tmp_path: Path) -> Iterator[Scim]:
    engine, tenant_id, token = gateway_database(tmp_path)
    app = create_app(GatewaySettings.model_validate({"ROSTER_ADMIN_TOKEN": "a" * 32}))
    # What the lifespan would wire, with Wire in place of Kafka (the client is not entered).
    app.state.engine = engine
    app.state.owners = Owners.over(Wire())
    yield Scim(TestClient(app), {"Authorization": f"Bearer {token}"}, tenant_id)
    engine.dispose()


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What runs in a worker thread, by name, as it runs: FastAPI's plain dependencies and the
    authentication's own hops."""
    names: list[str] = []

    async def counted(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        names.append(call.__name__)
        return await run_in_threadpool(call, *args, **kwargs)

    monkeypatch.setattr(fastapi.dependencies.utils, "run_in_threadpool", counted)
    monkeypatch.setattr(auth, "run_in_threadpool", counted)
    return names


REQUESTS = [
    ("GET", '/scim/v2/Users?filter=userName eq "ann@example.com"&startIndex=1&count=100', None),
    ("POST", "/scim/v2/Users", user_body("ann@example.com")),
    ("GET", f"/scim/v2/Users/{mint_id()}", None),
    ("GET", '/scim/v2/Groups?filter=displayName eq "Sales"', None),
]


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_a_scim_request_takes_no_worker_thread_once_its_token_and_budget_are_known(
    scim: Scim, threaded: list[str], method: str, path: str, body: Any
) -> None:
    client, auth_header, _tenant = scim
    first = client.request(method, path, json=body, headers=auth_header)
    assert first.status_code < 300, first.text
    assert threaded == ["_look_up", "retry_after"]  # the token found, a slice of the budget leased
    threaded.clear()
    again = client.request(method, path, json=body, headers=auth_header)
    assert again.status_code < 300, again.text
    assert threaded == []


def test_a_wrong_token_is_looked_up_each_time_and_refused_before_anything_else(
    scim: Scim, threaded: list[str]
) -> None:
    client = scim.client
    for _ in range(2):
        response = client.get("/scim/v2/Users", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
    assert threaded == ["_look_up", "_look_up"]


def test_a_token_revoked_through_this_instance_is_refused_at_once(
    scim: Scim,
) -> None:
    client, auth_header, tenant = scim
    assert client.get("/scim/v2/Users", headers=auth_header).status_code == 200  # now remembered
    assert client.delete(f"/admin/v1/tenants/{tenant}/tokens", headers=ADMIN).json()["revoked"] == 1
    refused = client.get("/scim/v2/Users", headers=auth_header)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
