"""The outbox relay and the outbox publisher on SQLite and PostgreSQL against a real Kafka broker:
what leaves, in which order, when a row counts as published, and what is set aside or dropped; relays
of several instances on one PostgreSQL database take turns. SQLite's coalesced marks are in
``test_relay_marks.py``."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from datetime import datetime
from uuid import uuid4

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from contracts.topics import GATEWAY_REPLIES_PREFIX, dead_letter_topic
from devinfra.fixtures import PostgresServer
from servicekit import locks
from servicekit.clock import as_utc, utc_now
from servicekit.db import create_tables, make_engine
from servicekit.kafka import MAX_MESSAGE_BYTES
from servicekit.messaging import MESSAGING_TABLES, OutboundRecord
from servicekit.relay import RELAY_LOCK, PublishBatch
from servicekit.settings import ServiceSettings
from servicekit.tests.relay_helpers import _all_published, _enqueue, _outbox, _until, relaying
from servicekit.topics import ensure_topics
from tests.kafka_client import Collector, new_topic


async def test_rows_leave_in_commit_order_and_count_as_published_only_after_the_publish(
    engine: Engine, publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "relay.order")
    for start in range(0, 60, 6):
        _enqueue(engine, [(topic, str(n).encode()) for n in range(start, start + 6)])
    unpublished_when_sent: list[bool] = []
    sent_at: list[datetime] = []

    async def observed(rows: list[OutboundRecord]) -> None:
        stored = {row.id: row.published_at for row in _outbox(engine)}
        unpublished_when_sent.extend(stored[row.id] is None for row in rows)
        await publish_batch(rows)
        sent_at.append(utc_now())

    async with Collector(kafka_bootstrap, topic) as received, relaying(engine, observed, batch_size=25):
        await received.wait_for(lambda _: True, count=60)
        await _until(_all_published(engine))
    assert [int(record.value) for record in received.records] == list(range(60))
    assert unpublished_when_sent == [True] * 60
    published_at = [as_utc(row.published_at) for row in _outbox(engine) if row.published_at is not None]
    assert len(sent_at) == 3  # batches of 25, 25, 10
    assert all(marked >= sent_at[0] for marked in published_at)


async def test_a_failed_publish_leaves_its_batch_unpublished_and_is_retried(
    engine: Engine, publish_batch: PublishBatch, settings: ServiceSettings, kafka_bootstrap: str
) -> None:
    ready = await new_topic(kafka_bootstrap, "relay.ready")
    not_yet = f"relay.not-yet.{uuid4().hex[:8]}"  # a durable topic its owner has not created yet
    _enqueue(engine, [(ready, b"first"), (not_yet, b"second"), (ready, b"third")])
    async with Collector(kafka_bootstrap, ready) as received, relaying(engine, publish_batch):
        await asyncio.sleep(2.5)  # several attempts fail
        assert [row.published_at for row in _outbox(engine)] == [None, None, None]
        assert received.records == []
        await ensure_topics(settings, [not_yet], partitions=1)
        await received.wait_for(lambda _: True, count=2)
        await _until(_all_published(engine))
    assert [record.value for record in received.records] == [b"first", b"third"]


async def test_a_row_kafka_can_never_accept_is_set_aside_to_the_dead_letter_topic(
    engine: Engine, publish_batch: PublishBatch, settings: ServiceSettings, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "relay.large")
    await ensure_topics(settings, [dead_letter_topic(topic)], partitions=1)
    oversized = b"x" * (MAX_MESSAGE_BYTES + 1)
    _enqueue(engine, [(topic, b"before"), (topic, oversized), (topic, b"after")])
    async with (
        Collector(kafka_bootstrap, topic) as received,
        Collector(kafka_bootstrap, dead_letter_topic(topic)) as set_aside,
        relaying(engine, publish_batch),
    ):
        await received.wait_for(lambda _: True, count=2)
        (note,) = await set_aside.wait_for(lambda _: True)
        await _until(_all_published(engine))
    assert [record.value for record in received.records] == [b"before", b"after"]
    assert note.value == f"set aside: {len(oversized)} bytes".encode()
    assert dict(note.headers)["x-original-topic"] == topic.encode()


async def test_replies_to_a_gateway_instance_that_is_gone_are_dropped(
    engine: Engine, publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "relay.events")
    live_gateway = await new_topic(kafka_bootstrap, f"{GATEWAY_REPLIES_PREFIX}live")
    gone_gateway = f"{GATEWAY_REPLIES_PREFIX}gone-{uuid4().hex[:8]}"
    _enqueue(engine, [(topic, b"event 1"), (gone_gateway, b"lost reply"), (live_gateway, b"reply")])
    _enqueue(engine, [(topic, b"event 2")])
    async with (
        Collector(kafka_bootstrap, topic) as events,
        Collector(kafka_bootstrap, live_gateway) as replies,
        relaying(engine, publish_batch),
    ):
        await events.wait_for(lambda _: True, count=2)
        await replies.wait_for(lambda _: True)
        await _until(_all_published(engine))
    assert [record.value for record in events.records] == [b"event 1", b"event 2"]
    assert [record.value for record in replies.records] == [b"reply"]


# Several instances of a service share one PostgreSQL database, and each runs a relay.


@pytest.fixture
def shared_database(postgres_server: PostgresServer) -> Iterator[tuple[Engine, Engine]]:
    """Two instances' engines on one PostgreSQL database."""
    url = postgres_server.create_database("relays")
    engines = make_engine(url), make_engine(url)
    create_tables(engines[0], MESSAGING_TABLES)
    yield engines
    for engine in engines:
        engine.dispose()


async def test_a_relay_publishes_nothing_while_another_holds_the_database(
    shared_database: tuple[Engine, Engine], publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    engine, other_instance = shared_database
    topic = await new_topic(kafka_bootstrap, "relay.turns")
    _enqueue(engine, [(topic, b"waits its turn")])
    async with Collector(kafka_bootstrap, topic) as received:
        with Session(other_instance) as other, other.begin():
            assert locks.try_hold(other, RELAY_LOCK)  # the other instance's relay is mid-batch
            async with relaying(engine, publish_batch):
                await asyncio.sleep(2)
                assert received.records == []
                assert [row.published_at for row in _outbox(engine)] == [None]
        async with relaying(engine, publish_batch):
            await received.wait_for(lambda _: True)
            await _until(_all_published(engine))
    assert [record.value for record in received.records] == [b"waits its turn"]


async def test_two_relays_on_one_database_take_turns_and_keep_commit_order(
    shared_database: tuple[Engine, Engine], publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "relay.two")
    turns: list[tuple[str, float, float]] = []

    def timed(name: str) -> PublishBatch:
        async def publish(rows: list[OutboundRecord]) -> None:
            began = time.monotonic()
            await asyncio.sleep(0.05)  # a slow acknowledgement: room for the other relay to cut in
            await publish_batch(rows)
            turns.append((name, began, time.monotonic()))

        return publish

    def write() -> None:  # handlers committing while both relays run
        for start in range(0, 120, 4):
            _enqueue(shared_database[0], [(topic, str(n).encode()) for n in range(start, start + 4)])
            time.sleep(0.05)

    first, second = shared_database
    async with (
        Collector(kafka_bootstrap, topic) as received,
        relaying(first, timed("first"), batch_size=10),
        relaying(second, timed("second"), batch_size=10),
    ):
        await asyncio.to_thread(write)
        await received.wait_for(lambda _: True, count=120)
        await _until(_all_published(first))
    assert [int(record.value) for record in received.records] == list(range(120))
    assert {name for name, _, _ in turns} == {"first", "second"}
    ordered = sorted(turns, key=lambda turn: turn[1])
    assert all(earlier[2] <= later[1] for earlier, later in itertools.pairwise(ordered))
