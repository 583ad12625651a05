"""The activity service run in the test's process against a real broker: the consumer every test of
Kafka consumption mechanics uses (batches here, offset commits in servicekit/tests), since it records
each record it handles where a test can count it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from uuid import uuid4

from aiokafka import AIOKafkaProducer
from sqlmodel import Session

from contracts.activity import ClientKind, RequestOutcome
from contracts.envelope import wrap
from contracts.topics import GATEWAY_OUTCOMES
from servicekit.kafka import client_options
from servicekit.service import RunningService
from services.activity import store
from services.activity.app import definition
from services.activity.config import ActivitySettings


def running_activity(settings: ActivitySettings, name: str | None = None) -> RunningService:
    """Consumer groups of its own (named after ``name``): nothing else on the broker shares its offsets."""
    return RunningService(replace(definition(settings), name=name or f"activity-{uuid4().hex[:8]}"), settings)


def outcome(tenant: str, index: int) -> bytes:
    """A request outcome the activity service records as one entry of ``tenant``."""
    recorded = RequestOutcome(
        client=ClientKind.OKTA, method="GET", resource_type="User", status=200, duration_ms=1.0,
        name=f"user{index}@example.com",
    )  # fmt: skip
    return wrap(recorded, tenant=tenant, producer="gateway").to_bytes()


async def publish(settings: ActivitySettings, records: Sequence[tuple[bytes, bytes]]) -> None:
    """``(key, value)`` records to the request outcomes topic, acknowledged by every replica."""
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        sent = [await producer.send(GATEWAY_OUTCOMES, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


def recorded(running: RunningService, tenant: str) -> int:
    with Session(running.engine) as session:
        return store.count(session, tenant=tenant)


async def until(check: Callable[[], bool], within: float = 60.0) -> float:
    """Seconds until ``check`` (run off the loop) holds; fails after ``within``."""
    started = time.monotonic()
    while not await asyncio.to_thread(check):
        assert time.monotonic() - started < within, "timed out"
        await asyncio.sleep(0.02)
    return time.monotonic() - started
