"""Offset commits for one consumer, coalesced: at-least-once with far fewer OffsetCommit requests.

A record's offset is remembered only after its transaction committed (docs/architecture.md §3 rule 1),
and the latest remembered offset of each partition is committed at most ``interval_ms`` later, in one
request for all of them. A crash in between redelivers what was handled since the last commit; the
inbox makes that redelivery a no-op. A failed record is never remembered: the consumer seeks back to
it (FastStream's ``nack``), so nothing behind it can be committed past it.

Kafka's own auto-commit (``enable_auto_commit``) is not used: it commits the consumed *position*,
which runs ahead of what was handled. Before a rebalance takes partitions away the remembered offsets
are committed (``on_partitions_revoked``: the next owner starts there), and at shutdown ``close``
commits them and makes every later handled record commit at once, until the consumer stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)


class OffsetCommits(ConsumerRebalanceListener):  # type: ignore[misc]
    """The rebalance listener of one consumer (``then`` is told after it), and its offset committer."""

    def __init__(self, *, interval_ms: int, then: ConsumerRebalanceListener) -> None:
        self._interval = interval_ms / 1000
        self._then = then
        self._pending: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references
        self._lock = asyncio.Lock()  # one commit at a time: a later offset never lands before an earlier
        self._closing = False

    async def handled(self, consumer: AIOKafkaConsumer, records: Iterable[Any]) -> None:
        """``records`` (aiokafka's ``ConsumerRecord``) are settled: their transaction committed."""
        self._consumer = consumer
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            self._pending[partition] = max(self._pending.get(partition, 0), record.offset + 1)
        if self._closing or self._interval <= 0:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self._flush_now)

    def _flush_now(self) -> None:
        self._timer = None
        flushing = asyncio.create_task(self.flush(), name="offset commit")
        self._flushes.add(flushing)
        flushing.add_done_callback(self._flushes.discard)

    async def flush(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commits what was handled (on ``partitions`` only, if given). A failure is logged: those
        records are redelivered to whoever holds the partition next, and the inbox skips them."""
        consumer = self._consumer
        if consumer is None:
            return
        async with self._lock:
            # Only partitions still held: one revoked while its record was handled is another's now.
            chosen = set(self._pending) if partitions is None else set(partitions) & set(self._pending)
            offsets = {p: self._pending.pop(p) for p in chosen if p in consumer.assignment()}
            for gone in chosen - offsets.keys():
                self._pending.pop(gone, None)
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except KafkaError as error:
                log.warning("offset commit failed (%r): those records will be delivered again", error)

    async def close(self) -> None:
        """At shutdown, before the consumer stops: commit now, and from now on after each record."""
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await self.flush()  # after any commit in flight (the lock)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.flush(revoked)
        await self._then.on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._then.on_partitions_assigned(assigned)
