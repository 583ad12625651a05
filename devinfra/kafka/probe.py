"""Plain aiokafka clients for proving a local broker or cluster works: create a topic, produce with
acks=all, consume, find a partition's leader. Tests use them; Roster's services use servicekit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError as ClientKafkaError


async def create_topic(
    bootstrap: str,
    name: str,
    *,
    partitions: int,
    replication: int,
    config: Mapping[str, str] | None = None,
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topic = NewTopic(name, partitions, replication, topic_configs=dict(config or {}))
        await admin.create_topics([topic], timeout_ms=30_000)
    finally:
        await admin.close()


async def partition_leader(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    (partition,) = description["partitions"]
    return int(partition["leader"])


def acks_all_producer(bootstrap: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=15_000,
    )


async def consume(bootstrap: str, topic: str, group: str, expected: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(values) < expected:
                batches = await consumer.getmany(timeout_ms=1_000)
                values.extend(
                    record.value for records in batches.values() for record in records if record.value
                )
        await consumer.commit()
    finally:
        await consumer.stop()
    return values


async def send_until_accepted(producer: AIOKafkaProducer, topic: str, value: bytes) -> None:
    """Retry while the cluster elects new leaders and shrinks ISRs after a node loss."""
    deadline = time.monotonic() + 60
    while True:
        try:
            await producer.send_and_wait(topic, value)
            return
        except ClientKafkaError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1)
