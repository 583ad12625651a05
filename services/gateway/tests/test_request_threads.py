"""A SCIM request runs one dependency in a worker thread: the token lookup and the rate limit, which may
touch the database. The others only read the app's state and run on the event loop; every hop to a
worker thread and back is latency a request pays before the owner is even asked (BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fastapi.dependencies.utils
import pytest
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

from contracts.ids import mint_id
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.owners import Owners
from services.gateway.tests.database import gateway_database
from services.gateway.tests.wire import Wire
from tests.okta import user_body


@pytest.fixture
def scim(tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine, _tenant_id, token = gateway_database(tmp_path)
    app = create_app(GatewaySettings.model_validate({"ROSTER_ADMIN_TOKEN": "a" * 32}))
    # What the lifespan would wire, with Wire in place of Kafka (the client is not entered).
    app.state.engine = engine
    app.state.owners = Owners.over(Wire())
    yield TestClient(app), {"Authorization": f"Bearer {token}"}
    engine.dispose()


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The dependencies FastAPI runs in its thread pool, by name, as it runs them."""
    names: list[str] = []

    async def counted(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        names.append(call.__name__)
        return await run_in_threadpool(call, *args, **kwargs)

    monkeypatch.setattr(fastapi.dependencies.utils, "run_in_threadpool", counted)
    return names


REQUESTS = [
    ("GET", '/scim/v2/Users?filter=userName eq "ann@example.com"&startIndex=1&count=100', None),
    ("POST", "/scim/v2/Users", user_body("ann@example.com")),
    ("GET", f"/scim/v2/Users/{mint_id()}", None),
    ("GET", '/scim/v2/Groups?filter=displayName eq "Sales"', None),
]


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_a_scim_request_takes_one_worker_thread(
    scim: tuple[TestClient, dict[str, str]], threaded: list[str], method: str, path: str, body: Any
) -> None:
    client, auth = scim
    response = client.request(method, path, json=body, headers=auth)
    assert response.status_code < 300, response.text
    assert threaded == ["_within_rate_limit"]


def test_a_wrong_token_is_still_refused_before_anything_else(
    scim: tuple[TestClient, dict[str, str]], threaded: list[str]
) -> None:
    client, _auth = scim
    response = client.get("/scim/v2/Users", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert threaded == ["_within_rate_limit"]
