"""The activity service on a real broker and database, recording in batches: a backlog is recorded in
far fewer transactions than records, each exactly once, with an undecodable record dead-lettered
among them; a trickle of records shares the transactions of its batch window; a record arriving after
an idle spell is recorded at once, not after a poll's pause."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import partial
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import Connection, event, text
from sqlmodel import Session

from contracts.topics import GATEWAY_OUTCOMES, dead_letter_topic
from servicekit import service
from servicekit.service import RunningService
from servicekit.topics import ensure_topics
from services.activity.config import ActivitySettings
from services.activity.tests.on_kafka import outcome, publish, recorded, running_activity, until

pytestmark = pytest.mark.kafka


def _settings(
    monkeypatch: pytest.MonkeyPatch, bootstrap: str, database_url: str, *, wait_ms: int = 0
) -> ActivitySettings:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", bootstrap)
    monkeypatch.setenv("ACTIVITY_DATABASE_URL", database_url)
    monkeypatch.setenv("ACTIVITY_BATCH_MAX_RECORDS", "50")
    monkeypatch.setenv("ACTIVITY_BATCH_WAIT_MS", str(wait_ms))
    return ActivitySettings()


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


async def _publish(settings: ActivitySettings, tenant: str, values: list[bytes]) -> None:
    """On the tenant's key: one partition, in order."""
    await publish(settings, [(tenant.encode(), value) for value in values])


def _has(running: RunningService, tenant: str, entries: int) -> bool:
    return recorded(running, tenant) == entries


def _dead_letters(running: RunningService) -> list[bytes]:
    statement = text("SELECT value FROM outbox WHERE topic = :topic")
    with Session(running.engine) as session:
        rows = session.execute(statement, {"topic": dead_letter_topic(GATEWAY_OUTCOMES)}).all()
    return [bytes(row[0]) for row in rows]


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
        await _caught_up_and_stopped(running_activity(settings, name), settings, tenant)
        values = [outcome(tenant, i) for i in range(1, 151)]
        await _publish(settings, tenant, [*values[:70], poison, *values[70:]])
        running = running_activity(settings, name)  # restarted: the backlog waits for it
        _count_recording_transactions(running, tenant, commits)
        await running.start()
        try:
            await until(lambda: recorded(running, tenant) >= 151 and poison in _dead_letters(running))
            await asyncio.sleep(1.0)  # anything recorded twice would show by now
            assert recorded(running, tenant) == 151
            assert _dead_letters(running).count(poison) == 1
        finally:
            await running.stop()

    asyncio.run(scenario())
    # At most 50 to a batch, the poison record's batch handled one by one: far below one per record.
    assert len(commits) < 75, len(commits)


async def _caught_up_and_stopped(running: RunningService, settings: ActivitySettings, tenant: str) -> None:
    await running.start()
    try:
        await _publish(settings, tenant, [outcome(tenant, 0)])
        await until(partial(_has, running, tenant, 1))
    finally:
        await running.stop()


@contextlib.asynccontextmanager
async def _listening(settings: ActivitySettings, tenant: str) -> AsyncIterator[RunningService]:
    """A running activity service whose group has its partitions: the tenant's first record is in."""
    await ensure_topics(settings, [GATEWAY_OUTCOMES, dead_letter_topic(GATEWAY_OUTCOMES)])
    running = running_activity(settings)
    await running.start()
    try:
        await _publish(settings, tenant, [outcome(tenant, 0)])
        await until(lambda: recorded(running, tenant) == 1)
        yield running
    finally:
        await running.stop()


def test_a_trickle_shares_the_transactions_of_its_batch_window(
    monkeypatch: pytest.MonkeyPatch, spare_kafka_bootstrap: str, tmp_path: Any
) -> None:
    """20 records 25 ms apart: without a window each would have a transaction of its own."""
    database_url = f"sqlite:///{tmp_path / 'activity.db'}"
    settings = _settings(monkeypatch, spare_kafka_bootstrap, database_url, wait_ms=1000)
    tenant = f"trickle-{uuid4().hex[:8]}"
    commits: list[object] = []
    lags: list[float] = []

    async def scenario() -> None:
        async with _listening(settings, tenant) as running:
            _count_recording_transactions(running, tenant, commits)
            for index in range(1, 21):
                await _publish(settings, tenant, [outcome(tenant, index)])
                await asyncio.sleep(0.025)
            lags.append(await until(partial(_has, running, tenant, 21)))
            await asyncio.sleep(1.0)  # anything recorded twice would show by now
            assert recorded(running, tenant) == 21

    asyncio.run(scenario())
    assert len(commits) <= 4, len(commits)
    assert lags[0] < 10, lags  # the window, not a stall: every record is there soon after it


def test_a_record_after_an_idle_spell_is_recorded_at_once(
    monkeypatch: pytest.MonkeyPatch, spare_kafka_bootstrap: str, tmp_path: Any
) -> None:
    # A long poll: FastStream's own batch subscriber would then pause as long after each empty poll.
    monkeypatch.setattr(service, "POLL_TIMEOUT_MS", 3000)
    settings = _settings(monkeypatch, spare_kafka_bootstrap, f"sqlite:///{tmp_path / 'activity.db'}")
    tenant = f"idle-{uuid4().hex[:8]}"
    delays: list[float] = []

    async def scenario() -> None:
        async with _listening(settings, tenant) as running:
            for index in range(1, 4):
                await asyncio.sleep(3.5)  # longer than a poll: the consumer has polled empty
                await _publish(settings, tenant, [outcome(tenant, index)])
                delays.append(await until(partial(_has, running, tenant, index + 1)))

    asyncio.run(scenario())
    assert max(delays) < 1.5, delays
