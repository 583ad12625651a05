"""Runs one service process: database, topics, consumers with at-least-once delivery, relay.

Offsets are committed only after the handler's transaction committed: an exception nacks (FastStream
seeks back to the record — for a batch, each partition back to its first record in it), and success
hands the record to ``servicekit.offsets.OffsetCommits``, which commits the latest handled offset of
each partition at most ``offset_commit_interval_ms`` later, before a rebalance and at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage
from sqlalchemy import Engine
from sqlmodel import Session

from contracts.topics import dead_letter_topic
from servicekit import migrations, readiness, sqlite_owner, tracing
from servicekit.answering import QueryProcessor, as_records
from servicekit.batching import (
    POLL_TIMEOUT_MS,
    BatchProcessor,
    EagerBatchSubscriber,
    batch_window,
)
from servicekit.closing import Step, close_in_turn
from servicekit.db import make_engine
from servicekit.definition import Periodic, ServiceDefinition
from servicekit.handling import MessageProcessor
from servicekit.health_listener import HealthListener
from servicekit.kafka import (
    MAX_MESSAGE_BYTES,
    TopicDirectory,
    make_broker,
    message_itself,
    outbox_publisher,
    start_broker,
)
from servicekit.messaging import purge_settled
from servicekit.metrics import ServiceMetrics
from servicekit.offsets import OffsetCommits
from servicekit.records import HandlerMap, RawRecord
from servicekit.relay import OutboxRelay
from servicekit.settings import ConsumingServiceSettings
from servicekit.topics import ensure_topics

log = logging.getLogger(__name__)

_PURGE_INTERVAL_SECONDS = 600.0


def _raw_record(raw: Any) -> RawRecord:
    # A tombstone (null value) is just bytes nobody can handle: dead-lettered, never stuck.
    headers = tuple((name, bytes(value).decode(errors="replace")) for name, value in raw.headers or ())
    return RawRecord(raw.topic, raw.partition, raw.offset, raw.key, bytes(raw.value or b""), headers)


@contextlib.asynccontextmanager
async def _settled(
    message: KafkaMessage, commits: OffsetCommits, records: Sequence[Any]
) -> AsyncIterator[None]:
    """What ``AckPolicy.NACK_ON_ERROR`` did, with the commit coalesced: an exception seeks back to
    the records (redelivered), success hands their offsets to ``commits``. A cancellation (shutdown)
    does neither: the records are delivered again after the restart."""
    try:
        yield
    except Exception:
        await message.nack()
        raise
    finally:
        message.clear_cache()  # it holds the decoded value, the message itself: no cycle left to the GC
    await commits.handled(message.consumer, records)


class RunningService:
    def __init__(self, definition: ServiceDefinition, settings: ConsumingServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.engine: Engine = make_engine(settings.resolved_database_url())
        self.metrics = ServiceMetrics(definition.name)
        self.metrics.watch_database(self.engine, definition.gauges)
        self.tracer_provider = tracing.tracer_provider(definition.name)
        self.broker: KafkaBroker = make_broker(
            settings,
            client_id=definition.name,
            middlewares=[tracing.kafka_middleware(self.tracer_provider), self.metrics.kafka_middleware],
            on_producer_renewed=self.metrics.producer_renewed,
        )
        self._topics = TopicDirectory(settings)
        self._publish_batch = outbox_publisher(self.broker, self._topics)
        self._relay = OutboxRelay(engine=self.engine, publish_batch=self._publish_batch)
        self._tasks: list[asyncio.Task[None]] = []
        self._memberships: list[readiness.GroupMembership] = []
        self._commits: list[OffsetCommits] = []
        self._health: HealthListener | None = None
        self._ownership: sqlite_owner.SqliteOwnership | None = None
        for topic, handlers in definition.subscriptions.items():
            self._subscribe(topic, handlers)
        for topic, handlers in definition.queries.items():
            self._subscribe(topic, handlers, answers=True)
        for topic, handlers in definition.listens.items():
            self._subscribe(topic, handlers, skip_unhandled=True)

    def _subscribe(
        self, topic: str, handlers: HandlerMap, *, skip_unhandled: bool = False, answers: bool = False
    ) -> None:
        processor = (QueryProcessor if answers else MessageProcessor)(
            engine=self.engine,
            handlers=handlers,
            producer=self.definition.name,
            max_attempts=self.settings.max_delivery_attempts,
            on_committed=self._relay.notify,
            skip_unhandled=skip_unhandled,
            on_dead_lettered=self.metrics.dead_lettered,
            compensations=self.definition.compensations,
            on_compensated=self.metrics.compensated,
            needless=self.definition.needless,
        )
        self.metrics.consumes(topic)
        # One group per topic: a member joining for commands must not pause the queries.
        group = f"{self.definition.name}.{topic}"
        membership = readiness.GroupMembership(group)
        self._memberships.append(membership)
        commits = OffsetCommits(interval_ms=self.settings.offset_commit_interval_ms, then=membership)
        self._commits.append(commits)
        options: dict[str, Any] = {
            "group_id": group,
            "listener": commits,
            "auto_offset_reset": "earliest",
            # Acknowledged here: nack on an exception, the offset to ``commits`` after success.
            "ack_policy": AckPolicy.MANUAL,
            "max_partition_fetch_bytes": MAX_MESSAGE_BYTES,
        }
        batch = self.definition.batch_max_records
        if topic in self.definition.batched and batch > 1 and not answers:
            batches = BatchProcessor(processor, engine=self.engine)
            subscriber = self._consume_batches(topic, batches, commits, options)
        else:
            subscriber = self._consume_each(topic, processor, commits, options)
        membership.knows_partitions = lambda: readiness.knows_partitions(subscriber, topic)
        self.metrics.consumer_lag.watch(group, subscriber)

    def _consume_each(
        self, topic: str, processor: MessageProcessor, commits: OffsetCommits, options: dict[str, Any]
    ) -> Any:
        async def consume(message: KafkaMessage) -> None:
            raw = message.raw_message
            assert not isinstance(raw, tuple), "a per-record subscriber"
            async with _settled(message, commits, (raw,)):
                direct = await asyncio.to_thread(processor.process, _raw_record(raw))
                if direct:  # a query's reply: sent (acks=all) before this record's offset is committed
                    await self._publish_batch(as_records(direct))

        subscriber = self.broker.subscriber(topic, decoder=message_itself, **options)
        subscriber(consume)
        return subscriber

    def _consume_batches(
        self, topic: str, processor: BatchProcessor, commits: OffsetCommits, options: dict[str, Any]
    ) -> Any:
        async def consume(message: KafkaMessage) -> None:
            raw = message.raw_message
            assert isinstance(raw, tuple), "a batch subscriber"
            async with _settled(message, commits, raw):
                await asyncio.to_thread(processor.process, [_raw_record(record) for record in raw])

        if self.definition.batch_wait_ms:
            options = {**options, **batch_window(self.definition.batch_wait_ms)}
        subscriber = self.broker.subscriber(
            topic,
            batch=True,
            max_records=self.definition.batch_max_records,
            batch_timeout_ms=POLL_TIMEOUT_MS,
            decoder=message_itself,
            **options,
        )
        # FastStream has no option to skip its pause after an empty poll; the subclass only drops it.
        subscriber.__class__ = EagerBatchSubscriber
        subscriber(consume)
        return subscriber

    def readiness_checks(self) -> dict[str, readiness.Check]:
        relay = readiness.relay_check(
            self.engine,
            enabled=self.settings.outbox_relay_enabled,
            stuck_after_seconds=self.settings.relay_stuck_after_seconds,
        )
        return {
            "database": readiness.database_check(self.engine),
            "kafka": readiness.kafka_check(self.broker),
            "consumers": readiness.consumers_check(self._memberships),
            "relay": relay,
        }

    async def start(self) -> None:
        # First of all: a second process on this SQLite file must not even migrate it.
        self._ownership = sqlite_owner.claim(self.engine, service=self.definition.name)
        try:
            await self._start_serving()
        except BaseException:
            self._release_database()  # a failed start holds nothing: this process may try again
            raise

    async def _start_serving(self) -> None:
        if self.settings.health_port:  # first: live (and saying what it waits for) during start-up
            self._health = HealthListener(
                host=self.settings.health_host,
                port=self.settings.health_port,
                checks=self.readiness_checks(),
                routers=[self.metrics.router()],
            )
            await self._health.start()
        # A new database is created; one behind this code stops the start (``roster-migrate``).
        await asyncio.to_thread(migrations.ensure_ready, self.engine, self.definition.schema)
        # Listened-to topics too: a subscription to a topic that does not exist yet would only
        # notice it at the next metadata refresh. Creation is idempotent and uses shared settings.
        topics = [*self.definition.owned_topics, *self.definition.listens]
        await ensure_topics(self.settings, [*topics, *map(dead_letter_topic, topics)])
        await start_broker(self.broker)
        retention = timedelta(hours=self.settings.message_retention_hours)
        purge = Periodic(
            "purge settled inbox/outbox rows",
            _PURGE_INTERVAL_SECONDS,
            lambda session, now: purge_settled(session, before=now - retention),
        )
        for periodic in (purge, *self.definition.periodic):
            self._tasks.append(asyncio.create_task(self._every(periodic), name=periodic.name))
        if self.settings.outbox_relay_enabled:
            self._tasks.append(asyncio.create_task(self._relay.run(), name="relay"))
        log.info("%s service started", self.definition.name)

    async def _every(self, periodic: Periodic) -> None:
        while True:
            try:
                done = await asyncio.to_thread(self._run_once, periodic)
                if done:
                    log.info("%s: %d", periodic.name, done)
                    self._relay.notify()
            except Exception:
                log.exception("%s failed", periodic.name)
            await asyncio.sleep(periodic.every_seconds)

    def _run_once(self, periodic: Periodic) -> int:
        with Session(self.engine) as session, session.begin():
            return periodic.run(session, datetime.now(UTC))

    async def stop(self) -> None:
        log.info("%s service stopping", self.definition.name)
        try:
            if self._health is not None:
                await self._health.stop()
            for task in self._tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # What was handled is committed before the consumers leave their groups.
            commits: list[Step] = [("offset commits", each.close) for each in self._commits]
            kafka: list[Step] = [("Kafka clients", self.broker.stop), ("topic lookups", self._topics.close)]
            await close_in_turn([*commits, *kafka])
            self.engine.dispose()
            tracing.shut_down(self.tracer_provider)
        finally:
            self._release_database()
        log.info("%s service stopped", self.definition.name)

    def _release_database(self) -> None:
        if self._ownership is not None:
            self._ownership.release()
            self._ownership = None
