from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devinfra.fixtures import PostgresServer
from tests.hostile import Seeded, seeded_tenant, state_of
from tests.service_databases import fresh_databases
from tests.stack import Stack, Tenant


@pytest.fixture(scope="session")
def stack(kafka_bootstrap: str, postgres_server: PostgresServer) -> Iterator[Stack]:
    """Kafka + users, seats, teams and activity (on PostgreSQL) + one gateway, shared by the end-to-end
    tests."""
    state_dir = Path(tempfile.mkdtemp(prefix="roster-stack-"))
    running = Stack(
        state_dir=state_dir,
        kafka_bootstrap=kafka_bootstrap,
        users_database_url=postgres_server.create_database("stack_users"),
        seats_database_url=postgres_server.create_database("stack_seats"),
        teams_database_url=postgres_server.create_database("stack_teams"),
        activity_database_url=postgres_server.create_database("stack_activity"),
    )
    try:
        running.migrate()
        running.start_users()
        running.start_seats()
        running.start_teams()
        running.start_activity()
        running.start_gateway()
        yield running
    finally:
        running.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def tenant(stack: Stack, request: pytest.FixtureRequest) -> Tenant:
    return stack.new_tenant(request.node.name[:40])


@pytest.fixture
def scim(stack: Stack, tenant: Tenant) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def seeded(stack: Stack, request: pytest.FixtureRequest) -> Iterator[Seeded]:
    """One tenant with one user and one group, shared by a module's tests: none of them may change it."""
    with seeded_tenant(stack, request.module.__name__.rsplit(".", 1)[-1][:40]) as seeded:
        yield seeded


@pytest.fixture
def unchanged(seeded: Seeded) -> Iterator[Seeded]:
    before = state_of(seeded)
    yield seeded
    assert state_of(seeded) == before


@pytest.fixture
def databases(database_url: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """A fresh database per service, on SQLite or on PostgreSQL."""
    return fresh_databases(database_url, request)
