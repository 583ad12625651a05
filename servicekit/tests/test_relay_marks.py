"""The outbox relay on SQLite against a real Kafka broker: one process, one relay, so marks are
coalesced. Rows published back to back are marked together and sent once, ids a purge frees are
published again, a relay that stops (even mid-publish) marks what it published, and a published batch
is marked while the next one keeps failing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

from sqlalchemy import Engine
from sqlmodel import Session

from servicekit.clock import utc_now
from servicekit.messaging import OutboundRecord, purge_settled
from servicekit.relay import OutboxRelay, PublishBatch
from servicekit.settings import ServiceSettings
from servicekit.tests.relay_helpers import _all_published, _enqueue, _outbox, _until, relaying
from servicekit.topics import ensure_topics
from tests.kafka_client import Collector, new_topic

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
