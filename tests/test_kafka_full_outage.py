"""Every broker of a three-node cluster killed at once while the gateway publishes request outcomes,
started again eight seconds later: each outcome reaches the activity log's topic. What aiokafka was
still sending through the outage is failed as its partition came back without a leader, leaving a gap
in the producer's sequence numbers that Kafka answers ``OutOfOrderSequenceNumber`` to for good; a new
producer gets past it (servicekit/producer_renewal.py, docs/architecture.md §3 rule 5)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from uuid import uuid4

import pytest

from contracts.envelope import Envelope
from contracts.topics import GATEWAY_OUTCOMES
from devinfra.kafka import LocalKafkaCluster
from servicekit.kafka import make_broker, start_broker
from servicekit.topics import ensure_topics
from services.gateway.config import GatewaySettings
from services.gateway.outcomes import OutcomePublisher, OutcomeQueue, Queued
from tests.kafka_client import Collector, numbered_outcome, three_node_cluster

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600)]

OUTAGE_SECONDS = 8


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalKafkaCluster]:
    with three_node_cluster("roster-full-outage-") as running:
        yield running


def _restart(cluster: LocalKafkaCluster) -> None:
    for node in cluster.nodes:
        node.launch()
    deadline = time.monotonic() + 240
    for node in cluster.nodes:
        node.wait_ready(deadline, brokers=len(cluster.nodes))


async def test_every_outcome_is_published_after_all_brokers_were_down_at_once(
    cluster: LocalKafkaCluster,
) -> None:
    settings = GatewaySettings.model_validate(
        {
            "ROSTER_ADMIN_TOKEN": "x" * 40,
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            "topic_replication_factor": 3,
            "topic_min_insync_replicas": 2,
        }
    )
    await ensure_topics(settings, [GATEWAY_OUTCOMES])
    renewals: list[None] = []
    broker = make_broker(settings, client_id="full-outage", on_producer_renewed=lambda: renewals.append(None))
    await start_broker(broker)
    queue = OutcomeQueue(10_000, lambda _dropped: None)
    publisher = OutcomePublisher(broker, queue, batch_size=500)
    publisher.start()
    tenants = [uuid4().hex[:16] for _ in range(12)]  # across the topic's partitions
    offered = 0

    async def offer_for(seconds: float) -> None:
        nonlocal offered
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for tenant in tenants:
                queue.offer(Queued(tenant, uuid4(), numbered_outcome(offered)))
                offered += 1
            await asyncio.sleep(0.2)

    try:
        await offer_for(3)
        for node in cluster.nodes:
            node.kill()
        await offer_for(OUTAGE_SECONDS)
        restarting = asyncio.create_task(asyncio.to_thread(_restart, cluster))
        while not restarting.done():
            await offer_for(0.5)
        await restarting
        await offer_for(3)
        async with Collector(cluster.bootstrap_servers, GATEWAY_OUTCOMES) as collector:
            arrived = await collector.wait_for(lambda _: True, count=offered, seconds=90)
        assert len(queue) == 0
        await publisher.stop()
    finally:
        await broker.stop()
    numbers = {Envelope.from_bytes(r.value).payload["duration_ms"] for r in arrived if r.value is not None}
    assert numbers == {float(n) for n in range(offered)}, f"{len(renewals)} producer renewal(s)"
