"""A Kafka producer the brokers refuse for good is replaced by a new one.

aiokafka's idempotent producer (``make_broker``: acks=all, idempotence) numbers the batches of each
partition, and a broker appends a batch only if its number follows the last one it appended from that
producer. aiokafka takes a batch's numbers when the batch leaves its queue and never gives them back:
a batch it then gives up on without the broker having appended it leaves a gap, and the broker answers
every later batch for that partition ``OutOfOrderSequenceNumber`` — forever, since aiokafka neither
renumbers nor asks for a new producer id (Kafka's Java client does both). Two ways in:

* a batch older than ``request_timeout_ms`` whose partition has no leader is failed in the queue
  (aiokafka ``MessageAccumulator.drain_by_nodes``). After every broker of a cluster was down at once,
  the first ones back report the partitions led by the others leaderless for a while, so whatever was
  waiting to be sent through the outage is failed that way (docs/architecture.md §3 rule 5).
* a batch the broker refuses outright (too large for the topic) has used its numbers all the same.

Kafka's Java client gets past these by bumping its producer epoch and renumbering (KIP-360); aiokafka
has no such step, so a new producer is the way out. ``UnknownProducerId`` (the broker no longer knows
the producer) and ``ProducerFenced`` / ``InvalidProducerEpoch`` are as final. So every publish
through a Roster broker is watched (a publish middleware, on the publish itself and on the future a
``no_confirm`` publish returns); the first such error starts a new aiokafka producer (a new producer id,
every partition numbered from 0), swaps it in under FastStream's producer and stops the old one,
letting what it still holds for other partitions be delivered. Nothing is resent here: each
publisher already tries again what failed (the outbox relay, the gateway's activity outcomes, a request
answered 503), and from then on it goes through the new producer. Errors from the old producer's
batches that arrive after the swap are not a reason for another one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidProducerEpoch, OutOfOrderSequenceNumber, ProducerFenced, UnknownProducerId
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.producer import AioKafkaFastProducerImpl
from faststream.kafka.publisher.state import RealProducer
from faststream.kafka.response import KafkaPublishCommand

log = logging.getLogger(__name__)

FINAL_PRODUCER_ERRORS: tuple[type[Exception], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    ProducerFenced,
    InvalidProducerEpoch,
)
"""What an idempotent producer never gets past: only a new producer is accepted again."""

OLD_PRODUCER_STOP_SECONDS = 30.0  # the old producer delivers what it holds for healthy partitions


class ProducerRenewal:
    """One per broker (``make_broker``): ``middleware`` goes into the broker's middlewares, then
    ``serve(broker)``. ``on_renewed`` is told of each new producer (a metric)."""

    def __init__(self, *, on_renewed: Callable[[], None] = lambda: None) -> None:
        self._broker: KafkaBroker | None = None
        self._on_renewed = on_renewed
        self._generation = 0  # which producer a publish went through: one renewal per bad producer
        self._renewing: asyncio.Task[None] | None = None

    def serve(self, broker: KafkaBroker) -> None:
        self._broker = broker

    def middleware(self, message: Any, /, *, context: Any) -> BaseMiddleware[KafkaPublishCommand, Any]:
        """FastStream's middleware factory: one per publish (and per message consumed, untouched)."""
        return _Watch(self, message, context=context)

    def failed(self, error: BaseException, generation: int) -> None:
        if not isinstance(error, FINAL_PRODUCER_ERRORS) or generation != self._generation:
            return
        if self._renewing is not None and not self._renewing.done():
            return
        log.error(
            "Kafka refuses this producer's records for good (%r): replacing the producer; what it"
            " could not publish is published again through the new one",
            error,
        )
        self._renewing = asyncio.create_task(self._renew(), name="kafka producer renewal")

    async def _renew(self) -> None:
        broker = self._broker
        assert broker is not None, "serve(broker) first"
        producer = broker.config.producer
        if not isinstance(producer, AioKafkaFastProducerImpl) or not producer:
            return  # stopped meanwhile: the next start makes a new producer anyway
        old = producer._producer
        fresh = AIOKafkaProducer(**broker._connection_kwargs)
        try:
            await fresh.start()  # bootstraps and gets a new producer id
        except Exception as error:
            log.warning("no new Kafka producer yet (%r); the next refused record tries again", error)
            await fresh.stop()
            return
        if producer._producer is not old:  # the broker stopped while the new producer started
            await fresh.stop()
            return
        producer._producer = RealProducer(fresh)
        self._generation += 1
        self._on_renewed()
        log.warning("new Kafka producer in place of the refused one")
        try:
            await asyncio.wait_for(old.stop(), OLD_PRODUCER_STOP_SECONDS)
        except Exception as error:  # its batches fail, and their publishers try them again
            log.warning("the replaced Kafka producer did not stop cleanly: %r", error)


class _Watch(BaseMiddleware[KafkaPublishCommand, Any]):
    def __init__(self, renewal: ProducerRenewal, message: Any, *, context: Any) -> None:
        super().__init__(message, context=context)
        self._renewal = renewal

    async def publish_scope(
        self, call_next: Callable[[KafkaPublishCommand], Awaitable[Any]], cmd: KafkaPublishCommand
    ) -> Any:
        renewal = self._renewal
        generation = renewal._generation
        try:
            sent = await call_next(cmd)
        except Exception as error:
            renewal.failed(error, generation)
            raise
        if isinstance(sent, asyncio.Future):  # ``no_confirm``: the outcome comes later

            def settled(future: asyncio.Future[Any]) -> None:
                error = None if future.cancelled() else future.exception()
                if error is not None:
                    renewal.failed(error, generation)

            sent.add_done_callback(settled)
        return sent
