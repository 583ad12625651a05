"""Dead letters as the gateway sees them: read from every ``<topic>.dlq`` topic, never consumed.

The reader has no consumer group and commits nothing: the dead-letter topics stay as the services
wrote them, and what an operator decided (replay, discard) is kept in the gateway's database
(``dead_letter_store``). Each read catches up from where the last one stopped, so listing, showing
and the unresolved gauge cost one fetch of what is new. A dead letter is named by its place:
``<dlq topic>:<partition>:<offset>``.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from contracts.envelope import Envelope
from servicekit.kafka import MAX_MESSAGE_BYTES, client_options, start_admin
from servicekit.records import DEAD_LETTER_HEADERS
from servicekit.settings import ServiceSettings

DLQ_SUFFIX = ".dlq"
_READ_SECONDS = 10.0
# Replays of one dead letter share their message id, so a replay sent twice is handled once.
_REPLAY_NAMESPACE = UUID("6f1c3b1e-5d52-4c55-9a7e-3f0d2b8f4a61")


class DeadLettersUnreadable(RuntimeError):
    """Kafka did not hand over the dead-letter topics in time."""


@dataclass(frozen=True)
class DeadLetter:
    id: str
    dlq_topic: str
    partition: int
    offset: int
    original_topic: str
    service: str | None  # the service that set it aside (absent on letters from before it was recorded)
    error: str
    headers: dict[str, str]  # the original record's
    dead_lettered_at: datetime
    envelope: Envelope | None  # None: the value was not an envelope at all
    key: bytes | None = field(repr=False)
    value: bytes = field(repr=False)


def letter_id(dlq_topic: str, partition: int, offset: int) -> str:
    return f"{dlq_topic}:{partition}:{offset}"


_LETTER_ID = re.compile(rf"[^:\s]+{re.escape(DLQ_SUFFIX)}:\d+:\d+")


def is_letter_id(text: str) -> bool:
    """Of the form ``letter_id`` makes."""
    return _LETTER_ID.fullmatch(text) is not None


def _envelope(value: bytes) -> Envelope | None:
    try:
        return Envelope.from_bytes(value)
    except (ValidationError, UnicodeDecodeError):
        return None


def _dead_letter(record: Any) -> DeadLetter:
    headers = {name: bytes(value).decode(errors="replace") for name, value in record.headers or ()}
    value = bytes(record.value or b"")
    return DeadLetter(
        id=letter_id(record.topic, record.partition, record.offset),
        dlq_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        original_topic=headers.get("x-original-topic", record.topic.removesuffix(DLQ_SUFFIX)),
        service=headers.get("x-dead-lettered-by"),
        error=headers.get("x-error", ""),
        headers={name: text for name, text in headers.items() if name not in DEAD_LETTER_HEADERS},
        dead_lettered_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        envelope=_envelope(value),
        key=record.key,
        value=value,
    )


def replay_envelope(letter: DeadLetter, original: Envelope, *, now: datetime) -> Envelope:
    """The original message in a new envelope: a new message id (the services' inboxes hold the old
    one), the same correlation id, caused by the dead letter's message, answered to nobody (whoever
    waited was told it failed)."""
    replay_id = uuid5(_REPLAY_NAMESPACE, f"{letter.id}/{original.message_id}")
    changes = {"message_id": replay_id, "causation_id": original.message_id, "reply_to": None}
    return original.model_copy(update={**changes, "occurred_at": now})


class DeadLetterReader:
    """Every dead letter still on Kafka, in topic, partition and offset order."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._admin: AIOKafkaAdminClient | None = None  # which dead-letter topics and partitions exist
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._letters: dict[TopicPartition, dict[int, DeadLetter]] = {}
        self._next: dict[TopicPartition, int] = {}

    async def letters(self) -> list[DeadLetter]:
        async with self._lock:
            consumer = await self._started()
            await self._catch_up(consumer)
            return [
                letter
                for partition in sorted(self._letters)
                for _, letter in sorted(self._letters[partition].items())
            ]

    async def _started(self) -> AIOKafkaConsumer:
        if self._admin is None:
            self._admin = await start_admin(self._settings)
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **client_options(self._settings),
                group_id=None,
                enable_auto_commit=False,
                max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _catch_up(self, consumer: AIOKafkaConsumer) -> None:
        partitions = await self._dead_letter_partitions()
        if set(partitions) != consumer.assignment():
            consumer.assign(partitions)
        if not partitions:
            return
        starts = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        for partition in partitions:
            kept = self._letters.setdefault(partition, {})
            for expired in [offset for offset in kept if offset < starts[partition]]:
                del kept[expired]  # gone with the topic's retention
            consumer.seek(partition, max(self._next.get(partition, 0), starts[partition]))
        await self._read_until(consumer, ends)

    async def _dead_letter_partitions(self) -> list[TopicPartition]:
        assert self._admin is not None
        topics = sorted(topic for topic in await self._admin.list_topics() if topic.endswith(DLQ_SUFFIX))
        described = await self._admin.describe_topics(topics) if topics else []
        return sorted(
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            if not topic["error_code"]
            for partition in topic["partitions"]
        )

    async def _read_until(self, consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> None:
        deadline = time.monotonic() + _READ_SECONDS
        behind = [p for p, end in ends.items() if await consumer.position(p) < end]
        while behind:
            if time.monotonic() > deadline:
                raise DeadLettersUnreadable(f"dead-letter topics not read within {_READ_SECONDS:.0f} s")
            batches = await consumer.getmany(*behind, timeout_ms=500)
            for partition, records in batches.items():
                for record in records:
                    self._letters[partition][record.offset] = _dead_letter(record)
            for partition in list(behind):
                self._next[partition] = await consumer.position(partition)
                if self._next[partition] >= ends[partition]:
                    behind.remove(partition)

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._admin is not None:
            await self._admin.close()
            self._admin = None
