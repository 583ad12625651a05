"""The tokens a gateway instance remembers as valid: pure rules with a hand-driven clock, then two
instances on one database, as two gateways behind a load balancer run."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.http.known_tokens import MAX_REMEMBERED, KnownTokens
from services.gateway.owners import Owners
from services.gateway.tests.clock import Clock
from services.gateway.tests.database import gateway_database
from services.gateway.tests.wire import Wire

ADMIN_TOKEN = "a" * 32


def test_a_token_is_trusted_for_its_time_then_looked_up_again() -> None:
    clock = Clock()
    known = KnownTokens(ttl_seconds=2.0, clock=clock)
    assert known.tenant("h1") is None
    known.remember("h1", "acme", generation=known.generation)
    clock.now += 1.9
    assert known.tenant("h1") == "acme"
    clock.now += 0.1
    assert known.tenant("h1") is None


def test_forgetting_a_tenant_forgets_its_tokens_only() -> None:
    known = KnownTokens(ttl_seconds=60.0, clock=Clock())
    known.remember("h1", "acme", generation=known.generation)
    known.remember("h2", "acme", generation=known.generation)
    known.remember("h3", "globex", generation=known.generation)
    known.forget_tenant("acme")
    assert (known.tenant("h1"), known.tenant("h2"), known.tenant("h3")) == (None, None, "globex")


def test_a_look_up_that_began_before_a_revocation_is_not_remembered() -> None:
    known = KnownTokens(ttl_seconds=60.0, clock=Clock())
    began = known.generation  # the look-up reads the token as valid …
    known.forget_tenant("acme")  # … while a revocation commits
    known.remember("h1", "acme", generation=began)
    assert known.tenant("h1") is None
    known.remember("h1", "acme", generation=known.generation)  # a look-up after it: remembered
    assert known.tenant("h1") == "acme"


def test_no_time_means_nothing_is_remembered() -> None:
    known = KnownTokens(ttl_seconds=0, clock=Clock())
    known.remember("h1", "acme", generation=known.generation)
    assert known.tenant("h1") is None


def test_memory_stays_bounded_whatever_the_tokens_presented() -> None:
    known = KnownTokens(ttl_seconds=60.0, clock=Clock())
    for n in range(MAX_REMEMBERED + 5):
        known.remember(f"h{n}", "acme", generation=known.generation)
    assert known.tenant(f"h{MAX_REMEMBERED + 4}") == "acme"
    assert known.tenant("h0") is None


def _instance(engine: Engine, cache_seconds: float) -> TestClient:
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": ADMIN_TOKEN, "token_cache_seconds": cache_seconds}
    )
    app = create_app(settings)
    app.state.engine = engine  # start-up (Kafka) skipped: Wire answers for the owners
    app.state.owners = Owners.over(Wire())
    return TestClient(app)


def test_a_revocation_through_another_instance_applies_here_within_the_cache_time(tmp_path: Path) -> None:
    engine, tenant_id, token = gateway_database(tmp_path)
    scim = {"Authorization": f"Bearer {token}"}
    here, there = _instance(engine, 0.5), _instance(engine, 0.5)
    assert here.get("/scim/v2/Users", headers=scim).status_code == 200
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    revoked = there.delete(f"/admin/v1/tenants/{tenant_id}/tokens", headers=admin)
    assert revoked.json()["revoked"] == 1
    assert there.get("/scim/v2/Users", headers=scim).status_code == 401  # where it was revoked: at once
    time.sleep(0.6)
    assert here.get("/scim/v2/Users", headers=scim).status_code == 401
    engine.dispose()
