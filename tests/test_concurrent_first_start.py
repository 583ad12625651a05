"""``--scale users=3`` on a first deployment: several instances of every service start at once on a
PostgreSQL server where their databases do not exist yet. Each database is created once, each schema
once, and every instance comes up and serves."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.engine import make_url

from devinfra.fixtures import PostgresServer
from tests.stack import Stack
from tests.teams_client import provision_user_in_group

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(900)]

_INSTANCES = 3
_ROUNDS = 2


@pytest.mark.parametrize("round_number", range(1, _ROUNDS + 1))
def test_instances_starting_together_on_a_new_database_all_come_up_and_serve(
    round_number: int, spare_kafka_bootstrap: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    never_created = f"roster_first_{round_number}_{uuid4().hex[:8]}"
    shared = make_url(postgres_server.admin_url).set(database=never_created)
    stack = Stack(state_dir=tmp_path, kafka_bootstrap=spare_kafka_bootstrap, users_database_url="")
    try:
        stack.start_together(
            ["users", "seats", "teams"] * _INSTANCES,
            gateways=_INSTANCES,
            DATABASE_URL=shared.render_as_string(hide_password=False),
            **{f"{service}_DATABASE_URL": "" for service in ("USERS", "SEATS", "TEAMS", "GATEWAY")},
        )
        assert all(process.alive() for process in [*stack.extras, *stack.gateways])
        tenant = stack.new_tenant(f"round{round_number}")  # the gateways share their database
        for index, port in enumerate(stack.gateway_ports):
            base_url = f"http://127.0.0.1:{port}/scim/v2"
            with httpx.Client(base_url=base_url, headers=tenant.auth, timeout=30) as scim:
                provision_user_in_group(scim, f"via.gateway{index}@example.com")
    finally:
        stack.stop()
