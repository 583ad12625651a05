"""The gateway's edge without the owners: what an unexpected failure answers, and what the OpenAPI
document promises (every answer it can give, the admin bearer scheme)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings

ADMIN_TOKEN = "a" * 40


@pytest.fixture
def app() -> FastAPI:
    return create_app(GatewaySettings(ROSTER_ADMIN_TOKEN=ADMIN_TOKEN))


async def test_an_unexpected_failure_is_a_scim_500_that_closes_the_connection(app: FastAPI) -> None:
    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/scim/v2/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/scim/v2/broken")
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.headers["content-type"].startswith("application/scim+json")
    assert response.json()["status"] == "500" and "a bug" not in response.text
    # the id a client can quote to support, in the answer's header and its detail alike
    request_id = response.headers["x-request-id"]
    assert response.json()["detail"].endswith(f"Request id: {request_id}.")


async def test_an_unreachable_gateway_database_is_a_503_to_retry_not_a_500(app: FastAPI) -> None:
    """The database refusing connections (a PostgreSQL restart, say) is an outage to wait out."""
    app.state.engine = create_engine("postgresql+psycopg://roster@127.0.0.1:9/roster")  # nothing listens
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            response = await client.get("/scim/v2/Users", headers={"Authorization": "Bearer rst_" + "x" * 40})
    finally:
        app.state.engine.dispose()
    assert (response.status_code, response.json()["status"]) == (503, "503"), response.text
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["detail"].endswith(f"Request id: {response.headers['x-request-id']}.")


def test_the_admin_api_documents_its_errors_and_its_bearer_scheme(app: FastAPI) -> None:
    document = app.openapi()
    assert document["components"]["securitySchemes"] == {
        "adminToken": {"type": "http", "scheme": "bearer", "description": "ROSTER_ADMIN_TOKEN"}
    }
    admin = {path: item for path, item in document["paths"].items() if path.startswith("/admin/v1")}
    assert admin
    for path, item in admin.items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            assert {"400", "401", "404", "415"} <= set(responses), (method, path)
            assert operation["security"] == [{"adminToken": []}]
            error = responses["400"]["content"]["application/scim+json"]["schema"]
            assert error == {"$ref": "#/components/schemas/Error"}
    assert "detail" in document["components"]["schemas"]["Error"]["properties"]


def test_the_events_reference_is_served_as_committed(app: FastAPI) -> None:
    client = TestClient(app)  # no lifespan: the document needs neither Kafka nor a database
    served = client.get("/asyncapi.json")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    committed = (Path(__file__).parents[3] / "docs" / "asyncapi.json").read_text()
    assert served.json() == json.loads(committed)


async def test_the_metrics_token_is_a_bearer_token_whatever_the_schemes_letter_case() -> None:
    """RFC 7235 §2.1: the scheme is case-insensitive, as the SCIM and admin routes read it."""
    app = create_app(GatewaySettings(ROSTER_ADMIN_TOKEN=ADMIN_TOKEN, metrics_token="m" * 24))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        for scheme in ("Bearer", "bearer", "BEARER"):
            scraped = await client.get("/metrics", headers={"Authorization": f"{scheme} {'m' * 24}"})
            assert scraped.status_code == 200, scheme
        # no dead letter yet is a 0 per topic, not an absent series an alert cannot tell from a broken scrape
        assert 'roster_dead_letters_unresolved{topic="users.commands.v1"} 0.0' in scraped.text
        for refused in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "m" * 24}):
            assert (await client.get("/metrics", headers=refused)).status_code == 401, refused


async def _answer_to_query(app: FastAPI, query: bytes) -> httpx.Response:
    """The gateway's answer to a GET /scim/v2/Users with ``query`` as its raw bytes (an HTTP client
    would percent-encode what it sends)."""
    path = "/scim/v2/Users"
    scope: dict[str, Any] = {"type": "http", "http_version": "1.1", "method": "GET", "scheme": "http",
                             "path": path, "raw_path": path.encode(), "query_string": query,
                             "root_path": "", "headers": [], "server": ("gateway", 80),
                             "client": ("127.0.0.1", 1)}  # fmt: skip
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start, *bodies = sent
    return httpx.Response(start["status"], content=b"".join(message.get("body", b"") for message in bodies))


@pytest.mark.parametrize(
    ("query", "scim_type", "named"),
    [
        (b"filter=userName%20eq%20%22%FFann%40x.io%22", "invalidFilter", 'query parameter "filter"'),
        (b"Filter=userName%20eq%20%22%ED%A0%80%22", "invalidFilter", 'query parameter "Filter"'),
        (b"sortBy=user%FFName", "invalidValue", 'query parameter "sortBy"'),
        (b"count=1&attr%C3=x", "invalidValue", 'query parameter "attr\ufffd"'),
        (b"a%C3=%A9", "invalidValue", 'query parameter "a\ufffd"'),  # a name and value are each text
    ],
)
async def test_a_query_that_is_not_percent_encoded_utf8_is_refused(
    app: FastAPI, query: bytes, scim_type: str, named: str
) -> None:
    """Read as Starlette reads it, ``%FF`` would be U+FFFD: a filter comparing text the client never
    sent, matching a user whose name holds U+FFFD."""
    response = await _answer_to_query(app, query)
    assert response.status_code == 400
    assert (response.json()["scimType"], response.json()["status"]) == (scim_type, "400")
    assert named in response.json()["detail"]
