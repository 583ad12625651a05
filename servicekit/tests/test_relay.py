"""The outbox relay and the outbox publisher on SQLite and PostgreSQL against a real Kafka broker:
what leaves, in which order, when a row counts as published, and what is set aside or dropped."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from contracts.topics import GATEWAY_REPLIES_PREFIX, dead_letter_topic
from devinfra.fixtures import PostgresServer
from servicekit import locks
from servicekit.clock import as_utc, utc_now
from servicekit.db import create_tables, make_engine
from servicekit.kafka import MAX_MESSAGE_BYTES, TopicDirectory, make_broker, outbox_publisher
from servicekit.messaging import MESSAGING_TABLES, OutboundRecord, OutboxEntry, enqueue, purge_settled
from servicekit.relay import RELAY_LOCK, OutboxRelay, PublishBatch
from servicekit.settings import ServiceSettings
from servicekit.topics import ensure_topics
from tests.kafka_client import Collector, new_topic


@pytest.fixture
def settings(kafka_bootstrap: str) -> ServiceSettings:
    return ServiceSettings(service_name="relay-test", kafka_bootstrap_servers=kafka_bootstrap)


@pytest.fixture
async def publish_batch(settings: ServiceSettings) -> AsyncIterator[PublishBatch]:
    """The publisher the services use: their broker settings, their topic directory."""
    broker: KafkaBroker = make_broker(settings, client_id="relay-test")
    directory = TopicDirectory(settings)
    await broker.start()
    try:
        yield outbox_publisher(broker, directory)
    finally:
        await broker.stop()
        await directory.close()


@contextlib.asynccontextmanager
async def relaying(
    engine: Engine, publish_batch: PublishBatch, **options: float
) -> AsyncIterator[OutboxRelay]:
    options = {"idle_seconds": 0.1, **options}
    relay = OutboxRelay(engine=engine, publish_batch=publish_batch, **options)  # type: ignore[arg-type]
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _enqueue(engine: Engine, rows: list[tuple[str, bytes]]) -> None:
    """One transaction, as one handler's messages."""
    with Session(engine) as session, session.begin():
        for topic, value in rows:
            enqueue(session, topic=topic, key=b"same-key", value=value)


def _outbox(engine: Engine) -> list[OutboxEntry]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id))))


async def _until(condition: Callable[[], bool], *, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


def _all_published(engine: Engine) -> Callable[[], bool]:
    return lambda: all(row.published_at is not None for row in _outbox(engine))


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


# SQLite: one process, one relay; marks are coalesced.


async def test_rows_published_back_to_back_are_marked_together_and_sent_once(
    sqlite_engine: Engine, publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "relay.coalesced")
    _enqueue(sqlite_engine, [(topic, b"1"), (topic, b"2")])
    claims: list[list[bytes]] = []

    async def committing_meanwhile(rows: list[OutboundRecord]) -> None:
        claims.append([row.value for row in rows])
        if len(claims) == 1:  # a handler commits while the first batch is on its way
            _enqueue(sqlite_engine, [(topic, b"3")])
        await publish_batch(rows)

    relay = relaying(sqlite_engine, committing_meanwhile, mark_seconds=3600)
    async with Collector(kafka_bootstrap, topic) as received, relay:
        await received.wait_for(lambda _: True, count=3)
        await _until(_all_published(sqlite_engine))
        await asyncio.sleep(0.5)  # more turns of the relay: nothing is sent again
    assert claims == [[b"1", b"2"], [b"3"]]  # the second claim skipped the rows not yet marked
    assert [record.value for record in received.records] == [b"1", b"2", b"3"]
    assert len({row.published_at for row in _outbox(sqlite_engine)}) == 1  # one mark for both batches


async def test_rows_after_a_purge_emptied_the_outbox_are_published(
    sqlite_engine: Engine, publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    """SQLite gives a new row the next id after the largest left: after a purge that can be an id
    the relay already published once."""
    topic = await new_topic(kafka_bootstrap, "relay.reused-ids")
    async with Collector(kafka_bootstrap, topic) as received, relaying(sqlite_engine, publish_batch):
        _enqueue(sqlite_engine, [(topic, b"before the purge")])
        await received.wait_for(lambda _: True)
        await _until(_all_published(sqlite_engine))
        (first,) = _outbox(sqlite_engine)
        with Session(sqlite_engine) as session, session.begin():
            assert purge_settled(session, before=utc_now() + timedelta(days=1)) == 1
        _enqueue(sqlite_engine, [(topic, b"after the purge")])
        await received.wait_for(lambda _: True, count=2)
        await _until(_all_published(sqlite_engine))
    assert [row.id for row in _outbox(sqlite_engine)] == [first.id]  # the same id, published again
    assert [record.value for record in received.records] == [b"before the purge", b"after the purge"]


async def test_a_stopping_relay_marks_what_it_published(
    sqlite_engine: Engine, publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "relay.stopping")
    _enqueue(sqlite_engine, [(topic, b"1")])
    running: list[OutboxRelay] = []

    async def then_more(rows: list[OutboundRecord]) -> None:
        await publish_batch(rows)
        if [row.value for row in rows] == [b"1"]:
            _enqueue(sqlite_engine, [(topic, b"2")])  # the next claim finds a row: no mark yet
            running[0].notify()

    async with Collector(kafka_bootstrap, topic) as received:
        # Never idle long enough to find nothing new, never due to mark: only stopping marks.
        async with relaying(sqlite_engine, then_more, mark_seconds=3600, idle_seconds=3600) as relay:
            running.append(relay)
            await received.wait_for(lambda _: True, count=2)
            assert [row.published_at is None for row in _outbox(sqlite_engine)] == [True, True]
        assert _all_published(sqlite_engine)()


async def test_a_relay_stopped_mid_publish_marks_the_batch_it_was_sending(
    sqlite_engine: Engine, publish_batch: PublishBatch, kafka_bootstrap: str
) -> None:
    topic = await new_topic(kafka_bootstrap, "relay.stopped-mid-publish")
    _enqueue(sqlite_engine, [(topic, b"in flight")])
    sending, go_on = asyncio.Event(), asyncio.Event()

    async def slow(rows: list[OutboundRecord]) -> None:
        sending.set()
        await go_on.wait()
        await publish_batch(rows)

    async with Collector(kafka_bootstrap, topic) as received:
        relay = relaying(sqlite_engine, slow, mark_seconds=3600)
        await relay.__aenter__()
        await sending.wait()
        stopping = asyncio.create_task(relay.__aexit__(None, None, None))  # the stop comes mid-publish
        await asyncio.sleep(0.3)
        go_on.set()
        await stopping
        await received.wait_for(lambda _: True)
    assert _all_published(sqlite_engine)()


async def test_a_published_batch_is_marked_while_the_next_one_keeps_failing(
    sqlite_engine: Engine, publish_batch: PublishBatch, settings: ServiceSettings, kafka_bootstrap: str
) -> None:
    ready = await new_topic(kafka_bootstrap, "relay.marked-meanwhile")
    not_yet = f"relay.not-yet.{uuid4().hex[:8]}"
    _enqueue(sqlite_engine, [(ready, b"sent")])

    async def then_a_failing_one(rows: list[OutboundRecord]) -> None:
        await publish_batch(rows)
        if [row.value for row in rows] == [b"sent"]:
            _enqueue(sqlite_engine, [(not_yet, b"waits for its topic")])  # the next claim finds it

    async with relaying(sqlite_engine, then_a_failing_one, mark_seconds=0.2):
        await _until(lambda: [row.published_at is None for row in _outbox(sqlite_engine)] == [False, True])
        await ensure_topics(settings, [not_yet], partitions=1)
        await _until(_all_published(sqlite_engine))


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
