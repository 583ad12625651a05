"""The activity service on a real broker and database, recording in batches: a backlog is recorded in
far fewer transactions than records, each exactly once, with an undecodable record dead-lettered
among them; a record arriving after an idle spell is recorded at once, not after a poll's pause."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Connection, event, text
from sqlmodel import Session

from contracts.activity import ClientKind, RequestOutcome
from contracts.envelope import wrap
from contracts.topics import GATEWAY_OUTCOMES, dead_letter_topic
from servicekit import service
from servicekit.kafka import client_options
from servicekit.service import RunningService
from servicekit.topics import ensure_topics
from services.activity import store
from services.activity.app import definition
from services.activity.config import ActivitySettings

pytestmark = pytest.mark.kafka


def _settings(monkeypatch: pytest.MonkeyPatch, bootstrap: str, database_url: str) -> ActivitySettings:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("ACTIVITY_DATABASE_URL", database_url)
    monkeypatch.setenv("ACTIVITY_BATCH_MAX_RECORDS", "50")
    return ActivitySettings()


def _service(settings: ActivitySettings, name: str | None = None) -> RunningService:
    """Consumer groups of its own (named after ``name``): nothing else on the broker shares its offsets."""
    own = name or f"activity-{uuid4().hex[:8]}"
    return RunningService(replace(definition(settings), name=own), settings)


def _count_recording_transactions(running: RunningService, tenant: str, commits: list[object]) -> None:
    """Appends to ``commits`` at each commit of a transaction that recorded entries of ``tenant``."""

    def executed(
        connection: Connection, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ACTIVITY ") and tenant in repr(parameters):
            connection.info["recorded"] = True

    def committed(connection: Connection) -> None:
        if connection.info.pop("recorded", False):
            commits.append(connection)

    event.listen(running.engine, "after_cursor_execute", executed)
    event.listen(running.engine, "commit", committed)


def _outcome(tenant: str, index: int) -> bytes:
    outcome = RequestOutcome(
        client=ClientKind.OKTA, method="GET", resource_type="User", status=200, duration_ms=1.0,
        name=f"user{index}@example.com",
    )  # fmt: skip
    return wrap(outcome, tenant=tenant, producer="gateway").to_bytes()


async def _publish(settings: ActivitySettings, tenant: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        sent = [await producer.send(GATEWAY_OUTCOMES, value, key=tenant.encode()) for value in values]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def _recorded(running: RunningService, tenant: str) -> int:
    with Session(running.engine) as session:
        return store.count(session, tenant=tenant)


def _has(running: RunningService, tenant: str, entries: int) -> bool:
    return _recorded(running, tenant) == entries


def _dead_letters(running: RunningService) -> list[bytes]:
    statement = text("SELECT value FROM outbox WHERE topic = :topic")
    with Session(running.engine) as session:
        rows = session.execute(statement, {"topic": dead_letter_topic(GATEWAY_OUTCOMES)}).all()
    return [bytes(row[0]) for row in rows]


async def _until(check: Callable[[], bool], within: float = 60.0) -> float:
    started = time.monotonic()
    while not await asyncio.to_thread(check):
        assert time.monotonic() - started < within, "timed out"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


def test_a_backlog_is_recorded_in_few_transactions_each_record_once(
    monkeypatch: pytest.MonkeyPatch, spare_kafka_bootstrap: str, database_url: str
) -> None:
    settings = _settings(monkeypatch, spare_kafka_bootstrap, database_url)
    tenant = f"batch-{uuid4().hex[:8]}"
    poison = b"\xffnot an envelope: " + tenant.encode()
    name = f"activity-{uuid4().hex[:8]}"  # consumer groups of its own
    commits: list[object] = []

    async def scenario() -> None:
        await ensure_topics(settings, [GATEWAY_OUTCOMES, dead_letter_topic(GATEWAY_OUTCOMES)])
        # A first run reads what earlier tests left on the topic and stops, its offsets committed.
        await _caught_up_and_stopped(_service(settings, name), settings, tenant)
        values = [_outcome(tenant, i) for i in range(1, 151)]
        await _publish(settings, tenant, [*values[:70], poison, *values[70:]])
        running = _service(settings, name)  # restarted: the backlog waits for it
        _count_recording_transactions(running, tenant, commits)
        await running.start()
        try:
            await _until(lambda: _recorded(running, tenant) >= 151 and poison in _dead_letters(running))
            await asyncio.sleep(1.0)  # anything recorded twice would show by now
            assert _recorded(running, tenant) == 151
            assert _dead_letters(running).count(poison) == 1
        finally:
            await running.stop()

    asyncio.run(scenario())
    # At most 50 to a batch, the poison record's batch handled one by one: far below one per record.
    assert len(commits) < 75, len(commits)


async def _caught_up_and_stopped(running: RunningService, settings: ActivitySettings, tenant: str) -> None:
    await running.start()
    try:
        await _publish(settings, tenant, [_outcome(tenant, 0)])
        await _until(partial(_has, running, tenant, 1))
    finally:
        await running.stop()


def test_a_record_after_an_idle_spell_is_recorded_at_once(
    monkeypatch: pytest.MonkeyPatch, spare_kafka_bootstrap: str, tmp_path: Any
) -> None:
    # A long poll: FastStream's own batch subscriber would then pause as long after each empty poll.
    monkeypatch.setattr(service, "POLL_TIMEOUT_MS", 3000)
    settings = _settings(monkeypatch, spare_kafka_bootstrap, f"sqlite:///{tmp_path / 'activity.db'}")
    tenant = f"idle-{uuid4().hex[:8]}"
    delays: list[float] = []

    async def scenario() -> None:
        await ensure_topics(settings, [GATEWAY_OUTCOMES, dead_letter_topic(GATEWAY_OUTCOMES)])
        running = _service(settings)
        await running.start()
        try:
            await _publish(settings, tenant, [_outcome(tenant, 0)])
            await _until(lambda: _recorded(running, tenant) == 1)  # the group has its partitions
            for index in range(1, 4):
                await asyncio.sleep(3.5)  # longer than a poll: the consumer has polled empty
                await _publish(settings, tenant, [_outcome(tenant, index)])
                delays.append(await _until(partial(_has, running, tenant, index + 1)))
        finally:
            await running.stop()

    asyncio.run(scenario())
    assert max(delays) < 1.5, delays
