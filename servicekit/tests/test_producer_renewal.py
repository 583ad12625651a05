"""A producer Kafka refuses for good (``OutOfOrderSequenceNumber``: a gap in its numbering of a
partition, as after a full outage of the cluster) is replaced by a new one, once, and whatever publishes
through the broker — the outbox relay included — gets its records through again, on a real broker."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber
from sqlalchemy import Engine

from servicekit.kafka import TopicDirectory, make_broker, outbox_publisher
from servicekit.settings import ServiceSettings
from servicekit.tests.relay_helpers import _all_published, _enqueue, _until, relaying
from tests.kafka_client import Collector, break_producer_numbering, new_topic

pytestmark = pytest.mark.kafka


async def test_a_producer_kafka_refuses_for_good_is_replaced_once_and_publishing_resumes(
    settings: ServiceSettings, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "renewal")
    renewals: list[None] = []
    renewed = asyncio.Event()

    def count_renewal() -> None:
        renewals.append(None)
        renewed.set()

    broker = make_broker(settings, client_id="renewal-test", on_producer_renewed=count_renewal)
    await broker.start()
    try:
        await broker.publish(b"before", topic, key=b"k")
        await break_producer_numbering(broker, kafka_bootstrap, topic, b"k")
        # Several publishers hit it at once: the error reaches each, one new producer serves them all.
        refused = await asyncio.gather(
            *(broker.publish(f"refused {n}".encode(), topic, key=b"k") for n in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(error, OutOfOrderSequenceNumber) for error in refused), refused
        await asyncio.wait_for(renewed.wait(), 15)
        await broker.publish(b"after", topic, key=b"k")
        await asyncio.sleep(0.5)  # late refusals of the old producer's batches change nothing
    finally:
        await broker.stop()
    assert len(renewals) == 1
    async with Collector(kafka_bootstrap, topic) as received:
        values = [
            r.value for r in await received.wait_for(lambda r: r.value in (b"before", b"after"), count=2)
        ]
    assert values == [b"before", b"after"]


async def test_the_relay_gets_its_rows_out_through_the_new_producer(
    sqlite_engine: Engine, settings: ServiceSettings, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "renewal.relay")
    broker = make_broker(settings, client_id="renewal-relay-test")
    directory = TopicDirectory(settings)
    await broker.start()
    try:
        publish_batch = outbox_publisher(broker, directory)
        async with Collector(kafka_bootstrap, topic) as received, relaying(sqlite_engine, publish_batch):
            _enqueue(sqlite_engine, [(topic, b"0")])
            await received.wait_for(lambda _: True)
            await break_producer_numbering(broker, kafka_bootstrap, topic, b"same-key")
            _enqueue(sqlite_engine, [(topic, str(n).encode()) for n in range(1, 6)])
            await _until(_all_published(sqlite_engine), seconds=20)
            await received.wait_for(lambda r: r.value != b"x" * 4096, count=6)
    finally:
        await broker.stop()
        await directory.close()
    assert [r.value for r in received.records if r.value != b"x" * 4096] == [
        str(n).encode() for n in range(6)
    ]
