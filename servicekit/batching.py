"""Several records in one transaction, for a consumer that only records what it reads (the activity log).

A batch is what one poll of the consumer returned. Without a window nothing waits for a batch to fill,
so at low load a record is handled alone, as fast as on the per-record path, and under load records that
queued up behind a transaction share the next one. With a window (``batch_window``) the broker gathers
what arrives during it into one answer, trading that much lag for far fewer transactions and fetches.

Each record still gets its inbox entry, so a redelivered batch is skipped record by record. If the
batch transaction fails for any reason (a handler's error, a ``Rejection``, an undecodable record, a
deadlock), it is rolled back and its records are handled one at a time on the per-record path
(``MessageProcessor.process``), where retries, dead letters, refusals and compensations work as always
(docs/architecture.md §3). The offsets are committed only after the records are settled.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import chain
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from faststream.kafka.subscriber.usecase import BatchSubscriber
from sqlalchemy import Engine
from sqlmodel import Session

from servicekit import tracing
from servicekit.handling import MessageProcessor
from servicekit.logs import log_context
from servicekit.records import Decoded, PoisonMessage, RawRecord, log_fields

log = logging.getLogger(__name__)

POLL_TIMEOUT_MS = 1000
"""How long an idle consumer's poll waits for a first record; it returns as soon as one arrives."""

WINDOW_MIN_BYTES = 1024 * 1024
"""A batch window's fetch is answered early only once this much is there: a backlog, not a trickle."""


def batch_window(wait_ms: int) -> dict[str, int]:
    """Consumer options for a time window: the broker holds each fetch until ``wait_ms`` passed (or a
    backlog of ``WINDOW_MIN_BYTES`` is there), so what arrived meanwhile comes back together — one
    fetch request and one transaction for many records, not one each, even at low load."""
    return {"fetch_max_wait_ms": wait_ms, "fetch_min_bytes": WINDOW_MIN_BYTES}


class BatchProcessor:
    def __init__(self, processor: MessageProcessor, *, engine: Engine) -> None:
        self._processor = processor
        self._engine = engine

    def process(self, records: Sequence[RawRecord]) -> None:
        """Settle every record, together if possible; raises while one should be redelivered (its
        predecessors are settled, so their redelivery is skipped by the inbox)."""
        if len(records) > 1 and self._together(records):
            return
        for record in records:
            self._processor.process(record)

    def _together(self, records: Sequence[RawRecord]) -> bool:
        if any(self._processor.has_failed(record) for record in records):
            return False  # a record being retried: its attempts are counted on the per-record path
        try:
            decoded = [(record, found) for record in records if (found := self._processor.decode(record))]
        except PoisonMessage:
            return False  # dead-lettered on the per-record path
        if not decoded:
            return True  # nothing here for this service (events it does not handle, replays for others)
        try:
            with Session(self._engine) as session, session.begin():
                wrote = [self._handle(session, record, found) for record, found in decoded]
        except Exception as error:
            log.warning("a batch of %d records failed (%r): handling them one at a time", len(records), error)
            return False
        if any(wrote):
            self._processor.committed()
        return True

    def _handle(self, session: Session, record: RawRecord, decoded: Decoded) -> bool:
        # The record's own trace context: the messages it causes continue its trace, as one at a time.
        with tracing.continued_from(dict(record.headers)), log_context(**log_fields(decoded[0])):
            return self._processor.handle_within(session, decoded)


class EagerBatchSubscriber(BatchSubscriber):
    """FastStream's batch subscriber without its pause after an empty poll: that pause (the poll's
    timeout again) would delay the first record after an idle spell. The poll itself returns as soon
    as any record is there, so an idle consumer waits in it, not in a sleep."""

    __slots__ = ()

    async def get_msg(self, consumer: AIOKafkaConsumer) -> tuple[ConsumerRecord[Any, Any], ...]:
        fetched = await consumer.getmany(timeout_ms=self.batch_timeout_ms, max_records=self.max_records)
        return tuple(chain.from_iterable(fetched.values()))
