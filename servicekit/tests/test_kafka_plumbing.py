"""Kafka plumbing on a real broker: a bootstrap list of several brokers; topic creation, where a
refusal surfaces with the broker's reason and several processes creating overlapping topics at
once (scaled services starting together) all succeed."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka.message import KafkaMessage

from servicekit import kafka, readiness, topics
from servicekit.kafka import make_broker
from servicekit.settings import ServiceSettings
from servicekit.topics import TopicCreationFailed, ensure_topics

pytestmark = pytest.mark.kafka


async def _listed(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_a_replication_the_cluster_cannot_place_fails_with_the_brokers_reason(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topics, "TOPIC_CREATION_SECONDS", 1.0)
    settings = ServiceSettings(
        service_name="topics",
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_replication_factor=3,
        topic_min_insync_replicas=2,
    )
    topic = f"refused-{uuid4().hex[:8]}"
    with pytest.raises(TopicCreationFailed, match="InvalidReplicationFactorError"):
        await ensure_topics(settings, [topic])
    assert topic not in await _listed(kafka_bootstrap)


async def test_processes_creating_overlapping_topics_at_once_all_succeed(kafka_bootstrap: str) -> None:
    settings = ServiceSettings(service_name="topics", kafka_bootstrap_servers=kafka_bootstrap)
    a, b, c = (f"overlap-{uuid4().hex[:8]}" for _ in range(3))
    await asyncio.gather(*(ensure_topics(settings, topics) for topics in ([a, b], [b, c], [a, b, c]) * 3))
    assert {a, b, c} <= await _listed(kafka_bootstrap)


async def test_a_bootstrap_list_of_several_brokers_is_used_as_a_list(kafka_bootstrap: str) -> None:
    # A cluster's address is a comma-separated list; the first entry here answers nothing.
    settings = ServiceSettings(
        service_name="topics", kafka_bootstrap_servers=f"127.0.0.1:1, {kafka_bootstrap}"
    )
    topic = f"listed-{uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    broker = make_broker(settings, client_id="bootstrap-list")
    await broker.start()
    try:
        await broker.publish(b"hello", topic)
    finally:
        await broker.stop()


async def test_a_consumer_started_before_its_topic_is_known_starts_once_it_is(kafka_bootstrap: str) -> None:
    """As when the broker asked does not list a just-created topic yet: the start is tried again."""
    settings = ServiceSettings(service_name="topics", kafka_bootstrap_servers=kafka_bootstrap)
    topic = f"late-{uuid4().hex[:8]}"
    broker = make_broker(settings, client_id="late-topic")
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(message: KafkaMessage) -> None:
        await received.put(message.body)

    broker.subscriber(topic, auto_offset_reset="earliest", decoder=kafka.message_itself)(on_message)
    starting = asyncio.create_task(kafka.start_broker(broker))
    try:
        await asyncio.sleep(1.5)  # several refused starts
        assert not starting.done()
        await ensure_topics(settings, [topic])
        await asyncio.wait_for(starting, timeout=30)
        await broker.publish(b"here", topic)
        assert await asyncio.wait_for(received.get(), timeout=30) == b"here"
    finally:
        starting.cancel()
        await broker.stop()


async def test_a_subscriber_knows_its_topics_partitions_once_started_and_never_a_missing_topics(
    kafka_bootstrap: str,
) -> None:
    """What readiness asks of a member that holds no partition (``readiness.knows_partitions``)."""
    settings = ServiceSettings(service_name="topics", kafka_bootstrap_servers=kafka_bootstrap)
    topic, missing = f"known-{uuid4().hex[:8]}", f"missing-{uuid4().hex[:8]}"
    await ensure_topics(settings, [topic])
    broker = make_broker(settings, client_id="knows-partitions")

    async def ignore(message: KafkaMessage) -> None:
        return None

    subscriber = broker.subscriber(topic, group_id=f"g-{topic}", decoder=kafka.message_itself)
    subscriber(ignore)
    assert not readiness.knows_partitions(subscriber, topic)  # no consumer before the start
    await kafka.start_broker(broker)
    try:
        for _ in range(100):
            if readiness.knows_partitions(subscriber, topic):
                break
            await asyncio.sleep(0.1)
        assert readiness.knows_partitions(subscriber, topic)
        assert not readiness.knows_partitions(subscriber, missing)
    finally:
        await broker.stop()
