"""A test's own Kafka client: publish envelopes, collect what arrives on a topic."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker

from contracts.activity import ClientKind, RequestOutcome
from devinfra.kafka import LocalKafkaCluster
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


_DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs' config_source of a value set on the topic itself


@asynccontextmanager
async def _max_message_bytes(bootstrap: str, topic: str, limit: int) -> AsyncIterator[None]:
    """``topic`` takes no batch over ``limit`` bytes within the block, then its own settings again
    (AlterConfigs replaces every value set on the topic, so they are read first and put back)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [(_, _, _, _, entries)] = described.resources
        own = {entry[0]: entry[1] for entry in entries if entry[3] == _DYNAMIC_TOPIC_CONFIG}
        lowered = {**own, "max.message.bytes": str(limit)}
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=lowered)])
        try:
            yield
        finally:
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=own)])
    finally:
        await admin.close()


async def break_producer_numbering(broker: KafkaBroker, bootstrap: str, topic: str, key: bytes) -> None:
    """From now on Kafka answers every record ``broker``'s producer sends to ``key``'s partition of
    ``topic`` ``OutOfOrderSequenceNumber``, as after every broker of a cluster was down at once
    (servicekit/producer_renewal.py): a record the broker refuses as too large for the topic has used
    up its sequence numbers all the same. The producer must have written to that partition before
    (a producer the partition has not seen yet may start at any number)."""
    oversized = b"x" * 4096
    async with _max_message_bytes(bootstrap, topic, 1024):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                await broker.publish(oversized, topic, key=key)
            except MessageSizeTooLargeError:  # the broker's refusal: the numbers are spent
                return
            await asyncio.sleep(0.2)  # taken: the lowered limit had not reached the partition yet
    raise AssertionError(f"{topic} kept taking records over its lowered max.message.bytes")


@contextlib.contextmanager
def three_node_cluster(prefix: str) -> Iterator[LocalKafkaCluster]:
    """A local three-node Kafka cluster of its own (replication 3), removed afterwards (killed: its data
    goes with it)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    running = LocalKafkaCluster(root / "kafka", nodes=3)
    try:
        running.start(timeout=240)  # three JVMs on two cores
        yield running
    finally:
        running.kill()
        shutil.rmtree(root, ignore_errors=True)


def numbered_outcome(number: int) -> RequestOutcome:
    """A request outcome told apart from the others by its duration, to count which ones arrived."""
    return RequestOutcome(
        client=ClientKind.OKTA, method="GET", resource_type="User", status=200, duration_ms=float(number)
    )
