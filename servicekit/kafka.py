"""Kafka plumbing shared by every process: how clients reach the brokers (TLS, SASL), the
producer-side broker, explicit topic creation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    KafkaConnectionError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    SaslAuthenticationFailed,
    UnknownTopicOrPartitionError,
)
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from contracts.topics import GATEWAY_REPLIES_PREFIX, dead_letter_topic
from servicekit import tracing
from servicekit.messaging import OutboundRecord
from servicekit.producer_renewal import ProducerRenewal
from servicekit.relay import PublishBatch
from servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""Largest record Roster sends: a 10,000-member group read or replace is ~0.5-1 MiB, over Kafka's
1 MiB default. Producers, topics (``max.message.bytes``) and consumers (fetch size) all allow it."""


_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def client_security(settings: ServiceSettings) -> BaseSecurity | None:
    """``KAFKA_SECURITY_PROTOCOL`` and its companions as FastStream's security object (which aiokafka's
    options are derived from, below); None for PLAINTEXT."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    context = None
    if settings.kafka_uses_tls:
        key_password = settings.kafka_ssl_key_password
        context = create_ssl_context(
            cafile=settings.kafka_ssl_cafile and str(settings.kafka_ssl_cafile),
            certfile=settings.kafka_ssl_certfile and str(settings.kafka_ssl_certfile),
            keyfile=settings.kafka_ssl_keyfile and str(settings.kafka_ssl_keyfile),
            password=key_password.get_secret_value() if key_password else None,
        )
    if not settings.kafka_uses_sasl:
        return BaseSecurity(ssl_context=context, use_ssl=True)
    return _SASL[settings.kafka_sasl_mechanism](
        settings.kafka_sasl_username,
        settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        use_ssl=settings.kafka_uses_tls,
    )


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """What every aiokafka client is given: the brokers, and how to reach and authenticate to them."""
    return {"bootstrap_servers": settings.kafka_servers, **parse_security(client_security(settings))}


class KafkaUnreachable(RuntimeError):
    """No listed broker could be reached: refused, TLS failed, or the credentials were refused."""


async def start_admin(settings: ServiceSettings, **options: Any) -> AIOKafkaAdminClient:
    """A started admin client. aiokafka only logs why each broker failed and then raises "Unable to
    bootstrap"; a refused password or certificate must say so, as the reason the process stops."""
    admin = AIOKafkaAdminClient(**client_options(settings), **options)
    try:
        await admin.start()
    except KafkaConnectionError as error:
        await admin.close()
        raise KafkaUnreachable(await _why_unreachable(settings)) from error
    return admin


async def _why_unreachable(settings: ServiceSettings) -> str:
    security = parse_security(client_security(settings))
    reasons = []
    for server in settings.kafka_servers:
        host, _, port = server.rpartition(":")
        try:
            connection = await create_conn(host or server, int(port) if host else 9092, **security)
        except Exception as error:  # what aiokafka logged for this broker
            if isinstance(error, (SaslAuthenticationFailed, AuthenticationFailedError)):
                user = settings.kafka_sasl_username
                reasons.append(f"{server}: authentication failed for KAFKA_SASL_USERNAME={user}: {error}")
            else:
                reasons.append(f"{server}: {type(error).__name__}: {error}")
        else:
            connection.close()
            reasons.append(f"{server}: answers now")
    protocol = settings.kafka_security_protocol
    return f"cannot reach Kafka (KAFKA_SECURITY_PROTOCOL={protocol}): " + "; ".join(reasons)


# How often every client asks for metadata anew, even without an error (Kafka's default: 5 minutes).
# A group whose leader assigned while its metadata lacked a just-created topic (a broker not yet
# told of it) holds nothing for the topic until this refresh makes it rebalance: a service starting
# next to its brokers would answer nothing on that topic for minutes. Ten seconds costs a few small
# metadata requests a second across a deployment.
METADATA_MAX_AGE_MS = 10_000


def make_broker(
    settings: ServiceSettings,
    *,
    client_id: str,
    middlewares: Sequence[Any] = (),
    on_producer_renewed: Callable[[], None] = lambda: None,
) -> KafkaBroker:
    """``on_producer_renewed``: told each time the producer was replaced after Kafka refused it for
    good (``servicekit/producer_renewal.py``)."""
    renewal = ProducerRenewal(on_renewed=on_producer_renewed)
    # acks=all + idempotence: a publish is acknowledged only once every in-sync replica has it,
    # and producer retries never duplicate a record (docs/architecture.md §3 rule 5).
    broker = KafkaBroker(
        settings.kafka_servers,
        security=client_security(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        # No wait for company: at low load a record leaves at once; under load aiokafka batches
        # whatever accumulated while the previous request to the broker was in flight.
        linger_ms=0,
        max_request_size=MAX_MESSAGE_BYTES,
        # Also bounds the wait for a topic's metadata: a deleted topic must not stall the relay.
        request_timeout_ms=10_000,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        # Topics are created by ensure_topics with the configured partitions, replication and min ISR;
        # FastStream's own creation would make a missing one with the broker's defaults instead.
        allow_auto_create_topics=False,
        logger=None,
        # Traces and metrics (servicekit/tracing.py, metrics.py); innermost, the watch for a producer
        # Kafka no longer accepts anything from.
        middlewares=(*middlewares, renewal.middleware),
        # Handlers take the message itself (``message_itself``): nothing to inject, nothing to cast.
        apply_types=False,
    )
    renewal.serve(broker)
    return broker


_BROKER_START_SECONDS = 60.0


async def start_broker(broker: KafkaBroker) -> None:
    """``broker.start()``, again while a broker does not know a topic yet. ``ensure_topics`` saw the
    topic led by the broker it asked, but metadata reaches the others asynchronously (seconds on a busy
    cluster); a consumer without a group that asks one of those fails to start with
    ``UnknownTopicOrPartitionError`` instead of waiting."""
    deadline = time.monotonic() + _BROKER_START_SECONDS
    while True:
        try:
            await broker.start()
            return
        except UnknownTopicOrPartitionError:
            if time.monotonic() > deadline:
                raise
            log.warning("a broker does not list a subscribed topic yet: starting the consumers again")
            await broker.stop()
            await asyncio.sleep(0.5)


async def message_itself(message: StreamMessage[Any]) -> StreamMessage[Any]:
    """The decoder of every subscriber: the handler gets the message itself, one record or a batch, and
    reads its bytes (a body it cannot parse must reach us, to be dead-lettered rather than retried
    forever), its positions, and acknowledges it. Together with ``apply_types=False`` (``make_broker``)
    it keeps FastDepends out of the consume path: asked for the message as a ``Context`` parameter, it
    resolves it in a worker thread, one thread hop per record (BENCHMARKS.md, "The message itself").
    A coroutine function although it does not wait: FastStream runs a plain-function decoder in a
    worker thread too. FastStream caches the decoded value on the message, a reference to itself:
    each handler clears that cache when done (``message.clear_cache()``)."""
    return message


class TopicDirectory:
    """Which topics exist. A gateway's reply topic is deleted when that instance stops: a reply
    still in an outbox can then never be delivered, and must not hold up the messages behind it."""

    def __init__(self, settings: ServiceSettings, *, max_age_seconds: float = 2.0) -> None:
        self._admin = AIOKafkaAdminClient(**client_options(settings))
        self._started = False
        self._known: set[str] = set()
        self._fetched_at = float("-inf")
        self._max_age = max_age_seconds

    async def existing(self, topics: set[str]) -> set[str]:
        stale = time.monotonic() - self._fetched_at > self._max_age
        if stale or not topics <= self._known:
            await self._refresh()
        return topics & self._known

    async def _refresh(self) -> None:
        if not self._started:
            await self._admin.start()
            self._started = True
        self._known = set(await self._admin.list_topics())
        self._fetched_at = time.monotonic()

    async def close(self) -> None:
        if self._started:
            await self._admin.close()
            self._started = False


_REPLY_SEND_SECONDS = 2.0


def _done() -> asyncio.Future[Any]:
    finished: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    finished.set_result(None)
    return finished


async def _send_reply(broker: KafkaBroker, row: OutboundRecord) -> None:
    """A reply to a gateway instance: worth a couple of seconds at most. Its topic may have just
    been deleted (the instance stopped); waiting out Kafka's metadata timeout would stall every
    message behind it, and nobody is left to read it."""
    try:
        with tracing.continued_from(row.headers):
            async with asyncio.timeout(_REPLY_SEND_SECONDS):
                await (
                    await broker.publish(
                        row.value, row.topic, key=row.key, headers=row.headers, no_confirm=True
                    )
                )
    except (TimeoutError, KafkaError) as error:
        log.warning("dropping reply %s to %s: %r", row.id, row.topic, error)


async def _publish_or_set_aside(broker: KafkaBroker, row: OutboundRecord) -> asyncio.Future[Any]:
    """A record Kafka will never accept (too large) goes to the dead-letter topic instead of being
    retried forever at the head of the outbox, holding back every message behind it."""
    try:
        with tracing.continued_from(row.headers):
            return await broker.publish(
                row.value, row.topic, key=row.key, headers=row.headers, no_confirm=True
            )
    except (MessageSizeTooLargeError, RecordTooLargeError) as error:
        log.error(
            "outbox row %s (%d bytes) for %s cannot be sent: %r", row.id, len(row.value), row.topic, error
        )
        if row.topic.startswith(GATEWAY_REPLIES_PREFIX):
            return _done()  # the requester times out with a 503; nothing to keep
        headers = {**row.headers, "x-error": repr(error)[:2000], "x-original-topic": row.topic}
        note = f"set aside: {len(row.value)} bytes".encode()
        return await broker.publish(
            note, dead_letter_topic(row.topic), key=row.key, headers=headers, no_confirm=True
        )


class MissingTopic(RuntimeError):
    """A durable topic is missing: its owner has not created it yet. Retried, never dropped."""


def outbox_publisher(broker: KafkaBroker, directory: TopicDirectory) -> PublishBatch:
    async def publish_batch(rows: list[OutboundRecord]) -> None:
        existing = await directory.existing({row.topic for row in rows})
        deliverable = []
        for row in rows:
            if row.topic in existing:
                deliverable.append(row)
            elif row.topic.startswith(GATEWAY_REPLIES_PREFIX):
                # That gateway instance is gone, and with it whoever waited for this reply.
                log.warning("dropping reply %s: %s no longer exists", row.id, row.topic)
            else:
                raise MissingTopic(f"topic {row.topic} does not exist (yet)")
        replies = [row for row in deliverable if row.topic.startswith(GATEWAY_REPLIES_PREFIX)]
        durable = [row for row in deliverable if not row.topic.startswith(GATEWAY_REPLIES_PREFIX)]
        futures = [await _publish_or_set_aside(broker, row) for row in durable]
        await asyncio.gather(*futures, *(_send_reply(broker, row) for row in replies))

    return publish_batch
