"""The admin API's token routes one by one, on the real app and database (SQLite and PostgreSQL); tokens
are the gateway's own, so no service is involved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from servicekit import migrations
from servicekit.db import make_engine
from services.gateway import store
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.schema import SCHEMA

ADMIN_TOKEN = "admin-" + "t" * 32


@pytest.fixture
def admin(database_url: str) -> Iterator[TestClient]:
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": ADMIN_TOKEN, "database_url": database_url}
    )
    engine = make_engine(database_url)
    migrations.upgrade(engine, SCHEMA)
    app = create_app(settings)
    app.state.engine = engine  # start-up (Kafka) skipped: these routes ask no service
    try:
        yield TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    finally:
        engine.dispose()


def _tenant_of(admin: TestClient, scim_token: str) -> str | None:
    with Session(admin.app.state.engine) as session:  # type: ignore[attr-defined]
        return store.tenant_for_token(session, token=scim_token)


def test_tokens_are_listed_without_their_value_and_revoked_one_at_a_time(admin: TestClient) -> None:
    tenant = admin.post("/admin/v1/tenants", json={"name": "Acme"}).json()["id"]
    old, new = (admin.post(f"/admin/v1/tenants/{tenant}/tokens").json()["token"] for _ in range(2))
    listed = admin.get(f"/admin/v1/tenants/{tenant}/tokens").json()
    first, second = (token["id"] for token in listed["tokens"])
    assert set(listed["tokens"][0]) == {"id", "created_at"}
    assert admin.get(f"/admin/v1/tenants/{tenant}").json()["active_tokens"] == 2

    answer = admin.delete(f"/admin/v1/tenants/{tenant}/tokens/{first}")
    assert (answer.status_code, answer.json()) == (200, {"tenant_id": tenant, "token_id": first})
    assert (_tenant_of(admin, old), _tenant_of(admin, new)) == (None, tenant)
    assert [token["id"] for token in admin.get(f"/admin/v1/tenants/{tenant}/tokens").json()["tokens"]] == [
        second
    ]


def test_revoking_a_token_that_is_not_an_active_one_of_the_tenant_is_404_and_changes_nothing(
    admin: TestClient,
) -> None:
    acme, other = (
        admin.post("/admin/v1/tenants", json={"name": name}).json()["id"] for name in ("Acme", "Other")
    )
    acme_token = admin.post(f"/admin/v1/tenants/{acme}/tokens").json()["token"]
    [acme_id] = [token["id"] for token in admin.get(f"/admin/v1/tenants/{acme}/tokens").json()["tokens"]]
    revoked = admin.post(f"/admin/v1/tenants/{other}/tokens").json()["token"]
    [revoked_id] = [token["id"] for token in admin.get(f"/admin/v1/tenants/{other}/tokens").json()["tokens"]]
    admin.delete(f"/admin/v1/tenants/{other}/tokens/{revoked_id}")

    # No token's id, beyond the column's INTEGER (32-bit on PostgreSQL) and beyond 64 bits.
    beyond_sql = (2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1, int("9" * 400))
    for tenant, token_id in (
        (other, acme_id),
        (other, revoked_id),
        (acme, 10_000),
        ("nope", acme_id),
        *((acme, huge) for huge in beyond_sql),
    ):
        answer = admin.delete(f"/admin/v1/tenants/{tenant}/tokens/{token_id}")
        assert answer.status_code == 404, (tenant, token_id)
        assert answer.json()["status"] == "404"
    assert admin.delete(f"/admin/v1/tenants/{acme}/tokens/first").status_code == 400
    assert _tenant_of(admin, acme_token) == acme and _tenant_of(admin, revoked) is None
    assert admin.get("/admin/v1/tenants/nope").status_code == 404
    assert admin.get("/admin/v1/tenants/nope/tokens").status_code == 404


def test_the_new_admin_routes_are_in_the_openapi_document(admin: TestClient) -> None:
    paths = admin.get("/openapi.json").json()["paths"]
    assert {"get", "post", "delete"} <= set(paths["/admin/v1/tenants/{tenant_id}/tokens"])
    assert "delete" in paths["/admin/v1/tenants/{tenant_id}/tokens/{token_id}"]
    assert "get" in paths["/admin/v1/tenants/{tenant_id}/users"]
    assert "get" in paths["/admin/v1/tenants/{tenant_id}/manager-tree"]
    assert not any(path.startswith("/console") for path in paths)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"name": "' + b"x" * 3_000_000 + b'"}', "application/json"),  # over the body limit
        (b"name=Acme", "text/plain"),
        (b'{"name": "Acme"}', "application/json"),
    ],
)
@pytest.mark.parametrize("credential", [None, "Bearer wrong-" + "t" * 32])
def test_without_the_admin_credential_any_body_is_401_and_nothing_is_made(
    admin: TestClient, content: bytes, content_type: str, credential: str | None
) -> None:
    headers = {"Content-Type": content_type, "Authorization": credential or ""}
    answer = admin.post("/admin/v1/tenants", content=content, headers=headers)
    assert answer.status_code == 401, answer.text[:200]
    assert answer.json()["detail"] == "Admin credential missing or wrong."
    assert admin.get("/admin/v1/tenants").json() == []


def test_every_admin_route_without_the_credential_is_401(admin: TestClient) -> None:
    """One check on every admin route, with a body or without (AdminRoute)."""
    tenant = admin.post("/admin/v1/tenants", json={"name": "Acme"}).json()["id"]
    paths = [path for path in admin.app.openapi()["paths"] if path.startswith("/admin/v1")]  # type: ignore[attr-defined]
    for path in paths:
        for method in admin.app.openapi()["paths"][path]:  # type: ignore[attr-defined]
            url = path.replace("{tenant_id}", tenant).replace("{", "").replace("}", "")
            answer = admin.request(method.upper(), url, headers={"Authorization": ""})
            assert answer.status_code == 401, (method, path, answer.text[:200])


def test_a_field_the_tenant_body_does_not_take_is_400_and_nothing_is_made(admin: TestClient) -> None:
    answer = admin.post("/admin/v1/tenants", json={"name": "Acme", "seats": 50})
    assert answer.status_code == 400, answer.text[:200]
    assert answer.json()["scimType"] == "invalidValue"
    assert answer.json()["detail"] == "Invalid request parameter body.seats: Extra inputs are not permitted."
    assert admin.get("/admin/v1/tenants").json() == []


def test_every_admin_body_refuses_fields_it_does_not_take(admin: TestClient) -> None:
    """As the OpenAPI document tells clients; a route added with a plain pydantic body would silently
    drop what a script misspells."""
    document = admin.get("/openapi.json").json()
    bodies = [
        (path, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])
        for path, operations in document["paths"].items()
        if path.startswith("/admin/")
        for operation in operations.values()
        if "requestBody" in operation
    ]
    assert len(bodies) >= 5, bodies
    for path, reference in bodies:
        schema = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
        assert schema.get("additionalProperties") is False, (path, schema)
