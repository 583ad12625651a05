"""Topics as the Kafka admin API sees them: created with Roster's settings and waited for until led,
deleted at shutdown. The set-up starts again, with a fresh client, while it fails with an error Kafka
calls retriable or a timeout: with one broker of a cluster just down, the cluster still lists it for
seconds (as a node, even as the controller the admin client asks), and a process starting then must
not die of it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from servicekit.kafka import MAX_MESSAGE_BYTES, KafkaUnreachable, start_admin
from servicekit.settings import ServiceSettings

log = logging.getLogger(__name__)
TOPIC_CREATION_SECONDS = 60.0
_ADMIN_REQUEST_MS = 10_000  # a broker that is down costs this much before the set-up starts again


def retriable(error: BaseException) -> bool:
    """Worth asking again with a fresh client: Kafka calls the error retriable, or a request timed out
    (a broker that is down but still in the metadata, as controller or as the node chosen)."""
    return isinstance(error, TimeoutError) or (isinstance(error, KafkaError) and error.retriable)


async def ensure_topics(
    settings: ServiceSettings, topics: Iterable[str], *, partitions: int | None = None
) -> None:
    """Create missing topics with the configured partitions and replication, and return once every
    partition of every one has a leader; idempotent, and safe for instances starting together."""
    wanted = sorted(set(topics))
    deadline = time.monotonic() + TOPIC_CREATION_SECONDS
    reached = False
    while True:
        # A fresh client each time: its bootstrap reads the cluster as it is now.
        try:
            admin = await start_admin(settings, request_timeout_ms=_ADMIN_REQUEST_MS)
        except KafkaUnreachable as unreachable:
            # Refused at the first try, the start fails fast (a wrong address, a refused password);
            # once the cluster answered, a bootstrap that does not is one more retry (a broker slow
            # to answer while it starts, or one restarting), until the deadline.
            if not reached or time.monotonic() > deadline:
                raise
            log.warning("topic set-up: %s; trying again", unreachable)
            await asyncio.sleep(0.5)
            continue
        reached = True
        try:
            await _ensure(admin, settings, wanted, partitions, deadline)
            return
        except Exception as error:
            if not retriable(error) or time.monotonic() > deadline:
                raise
            log.warning("topic set-up failed (%r): trying again", error)
        finally:
            await admin.close()
        await asyncio.sleep(0.5)


async def _ensure(
    admin: AIOKafkaAdminClient,
    settings: ServiceSettings,
    wanted: list[str],
    partitions: int | None,
    deadline: float,
) -> None:
    existing = set(await admin.list_topics())
    missing = [
        NewTopic(
            name=topic,
            num_partitions=partitions or settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            topic_configs={
                "min.insync.replicas": str(settings.topic_min_insync_replicas),
                "retention.ms": str(int(settings.topic_retention_hours * 3_600_000)),
                "max.message.bytes": str(MAX_MESSAGE_BYTES),
            },
        )
        for topic in wanted
        if topic not in existing
    ]
    if missing:
        await _create(admin, missing, deadline)
    # Listed is not served: a topic another instance is creating right now is listed before its
    # partitions have leaders, and a consumer subscribing then fails to start.
    await _wait_until_led(admin, wanted, deadline)


class TopicCreationFailed(RuntimeError):
    """The brokers refused to create a topic, or did not create it in time."""


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic], deadline: float) -> None:
    """Create ``topics`` and return once the brokers list them, tolerating another process creating
    some first. The broker answers per topic and aiokafka does not raise on those answers: a refusal
    must not pass for a creation. Brokers still registering (a cluster starting next to its services)
    refuse a replication factor they cannot place yet, and a busy controller may time out; both are
    tried again, within a bound."""
    pending = {topic.name: topic for topic in topics}
    while pending:
        response = await admin.create_topics(list(pending.values()))
        refusals = {}
        for name, code, *_ in response.topic_errors:
            if code in (0, TopicAlreadyExistsError.errno):
                pending.pop(name, None)
            else:
                refusals[name] = for_code(code).__name__
        if pending and time.monotonic() > deadline:
            raise TopicCreationFailed(f"topics not created in {TOPIC_CREATION_SECONDS:.0f} s: {refusals}")
        if pending:
            log.warning("creating topics again, the brokers answered: %s", refusals)
            await asyncio.sleep(1.0)


async def _wait_until_led(admin: AIOKafkaAdminClient, topics: list[str], deadline: float) -> None:
    """Until the brokers list every topic with a leader for each partition. Metadata reaches them
    asynchronously (seconds on a busy machine), and a consumer that subscribes before fails to start."""
    while waiting := [topic["topic"] for topic in await admin.describe_topics(topics) if not _led(topic)]:
        if time.monotonic() > deadline:
            raise TopicCreationFailed(
                f"topics without leaders after {TOPIC_CREATION_SECONDS:.0f} s: {waiting}"
            )
        await asyncio.sleep(0.2)


def _led(topic: dict[str, Any]) -> bool:
    partitions = topic["partitions"]
    return not topic["error_code"] and bool(partitions) and all(p["leader"] >= 0 for p in partitions)


async def delete_topics(settings: ServiceSettings, topics: Iterable[str]) -> None:
    try:
        admin = await start_admin(settings)
    except KafkaUnreachable as error:  # best effort at shutdown
        log.warning("could not delete topics %s: %s", topics, error)
        return
    try:
        await admin.delete_topics(list(topics))
    except Exception as error:  # best effort at shutdown
        log.warning("could not delete topics %s: %r", topics, error)
    finally:
        await admin.close()
