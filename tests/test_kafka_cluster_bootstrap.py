"""A three-node cluster keeps accepting acks=all writes when its partition leader crashes, and every
Roster process bootstraps from a list of brokers (``KAFKA_BOOTSTRAP_SERVERS=host1:9092,host2:9092,…``),
as on a real cluster, and still starts when the first broker listed is down. One cluster for both:
three JVMs take a minute to start on two cores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devinfra.kafka import LocalKafkaCluster
from devinfra.kafka.probe import (
    acks_all_producer,
    consume,
    create_topic,
    partition_leader,
    send_until_accepted,
)
from tests.kafka_client import three_node_cluster
from tests.stack import Stack
from tests.teams_client import provision_user_in_group

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]

# Replication 2: with one of the three brokers down, a new gateway's reply topic can still be created.
_TOPICS = {
    f"{service}_TOPIC_{setting}": value
    for service in ("USERS", "SEATS", "TEAMS", "GATEWAY")
    for setting, value in (("REPLICATION_FACTOR", "2"), ("MIN_INSYNC_REPLICAS", "1"))
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalKafkaCluster]:
    with three_node_cluster("roster-cluster-") as running:
        yield running


async def test_cluster_keeps_accepting_acks_all_after_losing_the_partition_leader(
    cluster: LocalKafkaCluster,
) -> None:
    bootstrap = cluster.bootstrap_servers
    await create_topic(
        bootstrap, "replicated", partitions=1, replication=3, config={"min.insync.replicas": "2"}
    )
    producer = acks_all_producer(bootstrap)
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait("replicated", f"before{i}".encode())
        assert len(await consume(bootstrap, "replicated", "cluster-group", 10)) == 10

        # The hardest single failure: the partition leader crashes.
        victim = cluster.node(await partition_leader(bootstrap, "replicated"))
        victim.kill()
        assert not victim.running
        await send_until_accepted(producer, "replicated", b"after-kill")
    finally:
        await producer.stop()
    values = await consume(bootstrap, "replicated", "cluster-group-2", 11)
    assert values[-1] == b"after-kill"

    victim.start()  # rejoins with its data and is unfenced again, for the next test
    assert victim.running


def _start_roster(cluster: LocalKafkaCluster, state_dir: Path) -> Stack:
    databases = {name: f"sqlite:///{state_dir / name}.db" for name in ("users", "seats", "teams", "gateway")}
    stack = Stack(
        state_dir=state_dir,
        kafka_bootstrap=cluster.bootstrap_servers,
        users_database_url=databases["users"],
        seats_database_url=databases["seats"],
        teams_database_url=databases["teams"],
    )
    try:
        stack.start_together(
            ["users", "seats", "teams"], gateways=1, GATEWAY_DATABASE_URL=databases["gateway"], **_TOPICS
        )
    except BaseException:
        stack.stop()
        raise
    return stack


def _provision(stack: Stack, user_name: str) -> None:
    tenant = stack.new_tenant(user_name.split("@")[0])
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=30) as scim:
        provision_user_in_group(scim, user_name)


def test_every_process_bootstraps_from_the_broker_list_even_with_the_first_broker_down(
    cluster: LocalKafkaCluster, tmp_path: Path
) -> None:
    assert cluster.bootstrap_servers.count(",") == 2, "three brokers, all listed"

    stack = _start_roster(cluster, tmp_path / "all-up")
    try:
        _provision(stack, "all.three@example.com")
    finally:
        stack.stop()

    first_listed = cluster.nodes[0]
    assert cluster.bootstrap_servers.startswith(first_listed.bootstrap_servers)
    first_listed.kill()
    stack = _start_roster(cluster, tmp_path / "first-down")
    try:
        _provision(stack, "first.down@example.com")
    finally:
        stack.stop()
