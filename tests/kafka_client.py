"""A test's own Kafka client: publish envelopes, collect what arrives on a topic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from servicekit.settings import ServiceSettings
from servicekit.topics import ensure_topics


class Collector:
    """Reads a topic from its beginning, in the background, into ``records``."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        # No consumer group: nothing to heartbeat, so a test blocking its event loop for a while
        # (starting or killing a process) cannot be dropped from a group and miss records.
        self._consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        await self._consumer.start()
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await self._consumer.stop()

    async def _collect(self) -> None:
        async for record in self._consumer:
            self.records.append(record)

    async def wait_for(
        self,
        predicate: Callable[[ConsumerRecord[bytes, bytes]], bool],
        *,
        count: int = 1,
        seconds: float = 30,
    ) -> list[ConsumerRecord[bytes, bytes]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            matching = [r for r in self.records if predicate(r)]
            if len(matching) >= count:
                return matching
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"only {len([r for r in self.records if predicate(r)])} of {count} records arrived"
        )


async def producer(bootstrap: str) -> AIOKafkaProducer:
    started = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await started.start()
    return started


async def new_topic(bootstrap: str, prefix: str) -> str:
    topic = f"{prefix}.{uuid4().hex[:8]}"
    settings = ServiceSettings(service_name="tests", kafka_bootstrap_servers=bootstrap)
    await ensure_topics(settings, [topic], partitions=1)
    return topic
