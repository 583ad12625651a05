"""Coalesced offset commits on a real broker (servicekit/offsets.py), with the activity service as the
consumer: handled records are committed within the interval; a crash after handling and before the
commit redelivers, and the inbox keeps the state changed once; a failed handler is redelivered; a
second instance joining (a rebalance) loses and duplicates nothing."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import event

from contracts.topics import GATEWAY_OUTCOMES, dead_letter_topic
from devinfra.fixtures import PostgresServer
from servicekit.kafka import client_options
from servicekit.offsets import OffsetCommits
from servicekit.topics import ensure_topics
from services.activity.config import ActivitySettings
from services.activity.tests.on_kafka import outcome, publish, recorded, running_activity, until

pytestmark = pytest.mark.kafka


def _settings(
    monkeypatch: pytest.MonkeyPatch, bootstrap: str, tmp_path: Any, interval_ms: int, database_url: str = ""
) -> ActivitySettings:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("ACTIVITY_DATABASE_URL", database_url or f"sqlite:///{tmp_path / 'activity.db'}")
    monkeypatch.setenv("ACTIVITY_BATCH_MAX_RECORDS", "1")  # the per-record path, as most consumers
    monkeypatch.setenv("ACTIVITY_OFFSET_COMMIT_INTERVAL_MS", str(interval_ms))
    return ActivitySettings()


async def _publish(settings: ActivitySettings, tenant: str, count: int, first: int = 0) -> None:
    """``count`` outcomes of ``tenant``, keyed apart so they spread over the partitions."""
    await publish(
        settings, [(f"{tenant}{i}".encode(), outcome(tenant, i)) for i in range(first, first + count)]
    )


async def _behind(settings: ActivitySettings, name: str) -> int:
    """Records of the topic past the group's committed offsets: 0 when everything is committed."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    consumer = AIOKafkaConsumer(**client_options(settings))
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(f"{name}.{GATEWAY_OUTCOMES}")
        [described] = await admin.describe_topics([GATEWAY_OUTCOMES])
        partitions = [TopicPartition(GATEWAY_OUTCOMES, p["partition"]) for p in described["partitions"]]
        ends = await consumer.end_offsets(partitions)
        assert ends, "no partitions: nothing would ever be behind"
        done = {tp: meta.offset for tp, meta in committed.items()}
        return sum(end - max(done.get(tp, 0), 0) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


async def _committed_within(settings: ActivitySettings, name: str, seconds: float) -> float:
    started = time.monotonic()
    while await _behind(settings, name):
        assert time.monotonic() - started < seconds, f"{await _behind(settings, name)} records not committed"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _topics(settings: ActivitySettings) -> None:
    await ensure_topics(settings, [GATEWAY_OUTCOMES, dead_letter_topic(GATEWAY_OUTCOMES)])


def test_handled_records_are_committed_within_the_interval(
    monkeypatch: pytest.MonkeyPatch, spare_kafka_bootstrap: str, tmp_path: Any
) -> None:
    settings = _settings(monkeypatch, spare_kafka_bootstrap, tmp_path, interval_ms=150)
    tenant, name = f"interval-{uuid4().hex[:8]}", f"activity-{uuid4().hex[:8]}"

    async def scenario() -> float:
        await _topics(settings)
        running = running_activity(settings, name)
        await running.start()
        try:
            await _publish(settings, tenant, 1)
            await until(lambda: recorded(running, tenant) == 1)  # joined and caught up
            await _committed_within(settings, name, 5.0)
            await _publish(settings, tenant, 20, first=1)
            await until(lambda: recorded(running, tenant) == 21)
            return await _committed_within(settings, name, 2.0)  # the interval, and some slack
        finally:
            await running.stop()

    assert asyncio.run(scenario()) < 2.0


def test_a_crash_before_the_commit_redelivers_and_the_state_changes_once(
    monkeypatch: pytest.MonkeyPatch, spare_kafka_bootstrap: str, tmp_path: Any
) -> None:
    # An interval no test waits out: the handled records are never committed before the crash.
    settings = _settings(monkeypatch, spare_kafka_bootstrap, tmp_path, interval_ms=600_000)
    tenant, name = f"crash-{uuid4().hex[:8]}", f"activity-{uuid4().hex[:8]}"

    async def scenario() -> None:
        await _topics(settings)
        first = running_activity(settings, name)
        await first.start()
        await _publish(settings, tenant, 10)
        await until(lambda: recorded(first, tenant) == 10)
        # As a kill -9 after handling: the consumers go without the shutdown's commit.
        with monkeypatch.context() as crashing:
            crashing.setattr(OffsetCommits, "close", _no_commit)
            await first.stop()
        assert await _behind(settings, name) >= 10  # so the next instance must see them again
        second = running_activity(
            _settings(monkeypatch, spare_kafka_bootstrap, tmp_path, interval_ms=100), name
        )
        await second.start()
        try:
            await _committed_within(settings, name, 30.0)  # redelivered, handled (skipped), committed
            assert recorded(second, tenant) == 10
        finally:
            await second.stop()

    asyncio.run(scenario())


async def _no_commit(_commits: OffsetCommits) -> None:
    return None


def test_a_failed_handler_is_redelivered(
    monkeypatch: pytest.MonkeyPatch, spare_kafka_bootstrap: str, tmp_path: Any
) -> None:
    settings = _settings(monkeypatch, spare_kafka_bootstrap, tmp_path, interval_ms=100)
    tenant, name = f"failing-{uuid4().hex[:8]}", f"activity-{uuid4().hex[:8]}"
    failures: list[str] = []

    def fail_once(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        recording = statement.lstrip().upper().startswith("INSERT INTO ACTIVITY ")
        if recording and tenant in repr(parameters) and not failures:
            failures.append(statement)
            raise RuntimeError("the database hiccups")

    async def scenario() -> None:
        await _topics(settings)
        running = running_activity(settings, name)
        event.listen(running.engine, "before_cursor_execute", fail_once)
        await running.start()
        try:
            await _publish(settings, tenant, 3)
            await until(lambda: recorded(running, tenant) == 3)
            await _committed_within(settings, name, 5.0)
            await asyncio.sleep(0.5)
            assert recorded(running, tenant) == 3
        finally:
            await running.stop()

    asyncio.run(scenario())
    assert len(failures) == 1


def test_a_second_instance_joining_loses_and_duplicates_nothing(
    monkeypatch: pytest.MonkeyPatch,
    spare_kafka_bootstrap: str,
    tmp_path: Any,
    postgres_server: PostgresServer,
) -> None:
    # No timer commits during the test: what is committed was committed at the revocation. Two
    # instances share a database on PostgreSQL only (a SQLite file serves one process).
    shared = postgres_server.create_database("rebalance")
    settings = _settings(monkeypatch, spare_kafka_bootstrap, tmp_path, 600_000, database_url=shared)
    tenant, name = f"rebalance-{uuid4().hex[:8]}", f"activity-{uuid4().hex[:8]}"

    async def scenario() -> None:
        await _topics(settings)
        first = running_activity(settings, name)
        await first.start()
        second = running_activity(settings, name)
        try:
            await _publish(settings, tenant, 30)
            await until(lambda: recorded(first, tenant) == 30)
            assert await _behind(settings, name) > 0
            await second.start()  # the group rebalances: the first commits before it lets go
            await _committed_within(settings, name, 30.0)
            await _publish(settings, tenant, 30, first=30)  # now spread over both instances
            await until(lambda: recorded(first, tenant) == 60)
            await asyncio.sleep(1.0)  # anything recorded twice would show by now
            assert recorded(first, tenant) == 60
        finally:
            await second.stop()
            await first.stop()
        assert await _behind(settings, name) == 0  # committed at shutdown

    asyncio.run(scenario())
