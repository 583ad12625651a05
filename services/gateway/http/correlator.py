"""Request/reply over real Kafka: FastStream's ``broker.request`` works only under its test broker.

Each gateway instance owns one reply topic. A request carries ``reply_to`` = that topic and a fresh
correlation id; the pending future is resolved when the reply with that id arrives.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from uuid import UUID

from faststream.kafka import KafkaBroker

from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from servicekit.logs import annotate

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """No answer in time, or the request could not be published."""


class ReplyCorrelator:
    def __init__(self, *, on_reply: Callable[[], None] = lambda: None) -> None:
        self._pending: dict[UUID, asyncio.Future[Envelope]] = {}
        self._on_reply = on_reply  # told of every reply: Kafka is there

    def expect(self, correlation_id: UUID) -> asyncio.Future[Envelope]:
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        return future

    def discard(self, correlation_id: UUID) -> None:
        self._pending.pop(correlation_id, None)

    def resolve(self, raw: bytes) -> None:
        self._on_reply()
        try:
            envelope = Envelope.from_bytes(raw)
        except ValueError:
            log.warning("ignoring an undecodable reply")
            return
        future = self._pending.pop(envelope.correlation_id, None)
        if future is not None and not future.done():
            future.set_result(envelope)
        # else: a late reply to a request that already timed out; nobody waits for it.


class Requester:
    """Publishes one command or query and waits for its reply."""

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        correlator: ReplyCorrelator,
        reply_topic: str,
        timeout: float,
        on_timeout: Callable[[str], None] = lambda message_type: None,
        kafka_reachable: Callable[[], bool] = lambda: True,
    ) -> None:
        self._on_timeout = on_timeout  # told the message type, for the metrics
        self._kafka_reachable = kafka_reachable
        self._broker = broker
        self._correlator = correlator
        self._reply_topic = reply_topic
        self._timeout = timeout

    async def ask(self, message: Message, *, tenant: str, topic: str, key: bytes) -> Message:
        envelope = wrap(message, tenant=tenant, producer="gateway", reply_to=self._reply_topic)
        annotate(correlation_id=envelope.correlation_id)  # leads from the request id to the services' lines
        future = self._correlator.expect(envelope.correlation_id)
        try:
            async with asyncio.timeout(self._timeout):  # one deadline for publish + reply
                await self._publish(envelope, topic, key)
                reply = await future
        except TimeoutError as error:
            self._on_timeout(envelope.type)
            raise ServiceUnavailable(f"no reply to {envelope.type} within {self._timeout:g}s") from error
        finally:
            self._correlator.discard(envelope.correlation_id)
        return payload_of(reply)

    async def tell(self, message: Message, *, tenant: str, topic: str, key: bytes) -> None:
        """Publish without waiting for an outcome (idempotent admin repairs)."""
        envelope = wrap(message, tenant=tenant, producer="gateway")
        async with asyncio.timeout(self._timeout):
            await self._publish(envelope, topic, key)

    async def _publish(self, envelope: Envelope, topic: str, key: bytes) -> None:
        if not self._kafka_reachable():  # no broker answers: a publish could only wait for the deadline
            raise ServiceUnavailable(f"Kafka unreachable, {envelope.type} not sent")
        try:
            await self._broker.publish(
                envelope.to_bytes(),
                topic,
                key=key,
                headers={"content-type": "application/json", "message-type": envelope.type},
            )
        except Exception as error:
            raise ServiceUnavailable(f"could not publish {envelope.type}: {error!r}") from error
