"""The users service process on a real broker: redelivery, dead letters, a kill -9 mid-flight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from sqlalchemy import Engine, create_engine, text
from sqlmodel import Field, Session, SQLModel, select

from contracts.envelope import Envelope, wrap
from contracts.registry import payload_of
from contracts.topics import USERS_COMMANDS, USERS_EVENTS, dead_letter_topic, resource_key
from contracts.users import CreateUser, UserCreated, UserProfile, UserReply
from servicekit.db import create_tables, make_engine
from servicekit.handling import MessageProcessor
from servicekit.messaging import MESSAGING_TABLES
from servicekit.records import HandlerMap, Outgoing, RawRecord
from tests.kafka_client import Collector, new_topic, producer
from tests.stack import Stack

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@pytest.fixture
async def kafka_producer(stack: Stack) -> AsyncIterator[AIOKafkaProducer]:
    started = await producer(stack.kafka_bootstrap)
    yield started
    await started.stop()


def _create(tenant: str, reply_topic: str, user_name: str, *, active: bool = True) -> Envelope:
    command = CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name=user_name, active=active))
    return wrap(command, tenant=tenant, producer="test", reply_to=reply_topic)


async def _publish(kafka: AIOKafkaProducer, envelope: Envelope, topic: str = USERS_COMMANDS) -> None:
    user_id = envelope.payload["user_id"]
    await kafka.send_and_wait(topic, envelope.to_bytes(), key=resource_key(envelope.tenant, user_id))


def _about(envelope: Envelope) -> object:
    def matches(record: ConsumerRecord[bytes, bytes]) -> bool:
        return Envelope.from_bytes(record.value).correlation_id == envelope.correlation_id

    return matches


async def test_the_same_command_twice_gives_one_reply_and_one_event(
    stack: Stack, kafka_producer: AIOKafkaProducer
) -> None:
    reply_topic = await new_topic(stack.kafka_bootstrap, "test.replies")
    command = _create("kafka-twice", reply_topic, "twice@example.com")
    async with (
        Collector(stack.kafka_bootstrap, reply_topic) as replies,
        Collector(stack.kafka_bootstrap, USERS_EVENTS) as events,
    ):
        await _publish(kafka_producer, command)
        await _publish(kafka_producer, command)
        [reply] = await replies.wait_for(_about(command))  # type: ignore[arg-type]
        await events.wait_for(_about(command))  # type: ignore[arg-type]
        await asyncio.sleep(2)  # give a wrong second reply or event time to show up
        assert len([r for r in replies.records if _about(command)(r)]) == 1  # type: ignore[operator]
        assert len([r for r in events.records if _about(command)(r)]) == 1  # type: ignore[operator]
    assert isinstance(payload_of(Envelope.from_bytes(reply.value)), UserReply)


async def test_a_poison_message_is_dead_lettered_and_the_next_one_is_processed(
    stack: Stack, kafka_producer: AIOKafkaProducer
) -> None:
    reply_topic = await new_topic(stack.kafka_bootstrap, "test.replies")
    poison = f"poison {uuid4()}".encode()
    command = _create("kafka-poison", reply_topic, "after-poison@example.com")
    async with (
        Collector(stack.kafka_bootstrap, dead_letter_topic(USERS_COMMANDS)) as dead,
        Collector(stack.kafka_bootstrap, reply_topic) as replies,
    ):
        # same key → same partition: the valid command waits behind the poison one
        key = resource_key(command.tenant, command.payload["user_id"])
        await kafka_producer.send_and_wait(USERS_COMMANDS, poison, key=key)
        await _publish(kafka_producer, command)
        [dead_letter] = await dead.wait_for(lambda r: r.value == poison)
        await replies.wait_for(_about(command))  # type: ignore[arg-type]
    headers = dict(dead_letter.headers)
    assert headers["x-original-topic"] == USERS_COMMANDS.encode()
    assert headers["x-error"]


class AppliedUser(SQLModel, table=True):
    """A downstream projection: what a deduplicating consumer of users events applied."""

    __tablename__ = "applied_users"
    user_id: str = Field(primary_key=True)


def _apply_user_created(session: Session, _envelope: Envelope, event: UserCreated) -> list[Outgoing]:
    session.add(AppliedUser(user_id=event.user.id))
    return []


def _users_engine_rows(stack: Stack, user_id: str) -> tuple[int, int]:
    engine = create_engine(stack.users_database_url)
    with engine.connect() as connection:
        users = connection.execute(
            text("SELECT count(*) FROM users WHERE id = :id"), {"id": user_id}
        ).scalar_one()
        pending = connection.execute(
            text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        ).scalar_one()
    engine.dispose()
    return int(users), int(pending)


def _republish_everything_for(stack: Stack, user_id: str) -> None:
    """As if the relay had crashed after publishing but before marking the rows published."""
    engine = create_engine(stack.users_database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE outbox SET published_at = NULL WHERE encode(value, 'escape') LIKE :id"),
            {"id": f"%{user_id}%"},
        )
    engine.dispose()


async def _wait_committed(stack: Stack, user_id: str) -> None:
    for _ in range(300):
        users, pending = _users_engine_rows(stack, user_id)
        if users == 1 and pending >= 2:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the users service never committed the create")


def _projection(tmp_path: Path) -> tuple[Engine, MessageProcessor]:
    engine = make_engine(f"sqlite:///{tmp_path / 'projection.db'}")
    create_tables(engine, [AppliedUser, *MESSAGING_TABLES])
    handlers: HandlerMap = {UserCreated: _apply_user_created}
    return engine, MessageProcessor(engine=engine, handlers=handlers, producer="projection", max_attempts=3)


async def test_kill_9_between_commit_and_publish_loses_nothing_and_duplicates_apply_once(
    stack: Stack, kafka_producer: AIOKafkaProducer, tmp_path: Path
) -> None:
    reply_topic = await new_topic(stack.kafka_bootstrap, "test.replies")
    # Inactive: committed at once with its event and reply (an active user would wait for a seat).
    command = _create("kafka-crash", reply_topic, "crash@example.com", active=False)
    user_id = command.payload["user_id"]
    assert stack.users is not None
    stack.users.stop()
    stack.start_users(USERS_OUTBOX_RELAY_ENABLED="false")  # commits, but holds the outbox
    try:
        async with (
            Collector(stack.kafka_bootstrap, USERS_EVENTS) as events,
            Collector(stack.kafka_bootstrap, reply_topic) as replies,
        ):
            await _publish(kafka_producer, command)
            await _wait_committed(stack, user_id)
            stack.users.kill()  # kill -9 after the commit, before anything was published
            assert replies.records == [] and not [r for r in events.records if _about(command)(r)]  # type: ignore[operator]
            stack.start_users()
            await replies.wait_for(_about(command))  # type: ignore[arg-type]
            await events.wait_for(_about(command))  # type: ignore[arg-type]
            # now a crash after publishing but before marking: the event goes out twice
            _republish_everything_for(stack, user_id)
            stack.users.kill()
            stack.start_users()
            copies = await events.wait_for(_about(command), count=2)  # type: ignore[arg-type]
    finally:
        if stack.users is None or not stack.users.alive():
            stack.start_users()
    engine, processor = _projection(tmp_path)
    for offset, record in enumerate(copies):
        processor.process(RawRecord(record.topic, record.partition, offset, record.key, record.value))
    with Session(engine) as session:
        assert [row.user_id for row in session.exec(select(AppliedUser))] == [user_id]
    engine.dispose()
    assert _users_engine_rows(stack, user_id) == (1, 0)


async def _wait_until_blocked_on_lock(engine: Engine) -> None:
    waiting = "wait_event_type = 'Lock' AND datname = current_database()"
    query = text(f"SELECT count(*) FROM pg_stat_activity WHERE {waiting}")
    for _ in range(300):
        with engine.connect() as connection:
            if connection.execute(query).scalar_one() > 0:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the users service never reached its database transaction")


async def test_kill_9_inside_the_handler_transaction_redelivers_the_message(
    stack: Stack, kafka_producer: AIOKafkaProducer
) -> None:
    """Rule 1: the offset is committed only after the transaction; a consumer that acked on
    receipt (auto-commit every 5 s) would have lost this message."""
    reply_topic = await new_topic(stack.kafka_bootstrap, "test.replies")
    command = _create("kafka-mid-transaction", reply_topic, "mid-transaction@example.com")
    blocker = create_engine(stack.users_database_url)
    assert stack.users is not None
    try:
        async with Collector(stack.kafka_bootstrap, reply_topic) as replies:
            with blocker.connect() as connection:
                transaction = connection.begin()
                connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
                await _publish(kafka_producer, command)
                await _wait_until_blocked_on_lock(blocker)
                await asyncio.sleep(6)  # longer than any auto-commit interval
                stack.users.kill()
                transaction.rollback()
            stack.start_users()
            [reply] = await replies.wait_for(_about(command))  # type: ignore[arg-type]
        assert isinstance(payload_of(Envelope.from_bytes(reply.value)), UserReply)
        assert _users_engine_rows(stack, command.payload["user_id"])[0] == 1
    finally:
        blocker.dispose()
        if not stack.users.alive():
            stack.start_users()


async def _committed(stack: Stack, partition: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(f"users.{USERS_COMMANDS}", partitions=[partition])
    finally:
        await admin.close()
    found = offsets.get(partition)
    return -1 if found is None else found.offset


async def test_kill_9_before_the_coalesced_offset_commit_redelivers_and_changes_nothing(
    stack: Stack, kafka_producer: AIOKafkaProducer
) -> None:
    """Rule 1 with coalesced commits: a record handled but not yet committed is delivered again
    after a kill -9, and the inbox makes that a no-op (one user, one reply message)."""
    reply_topic = await new_topic(stack.kafka_bootstrap, "test.replies")
    command = _create("kafka-uncommitted", reply_topic, "uncommitted@example.com", active=False)
    user_id = command.payload["user_id"]
    assert stack.users is not None
    stack.users.stop()
    stack.start_users(USERS_OFFSET_COMMIT_INTERVAL_MS="600000")  # no commit before the kill
    try:
        async with Collector(stack.kafka_bootstrap, reply_topic) as replies:
            key = resource_key(command.tenant, user_id)
            sent = await kafka_producer.send_and_wait(USERS_COMMANDS, command.to_bytes(), key=key)
            partition = TopicPartition(USERS_COMMANDS, sent.partition)
            await replies.wait_for(_about(command))  # type: ignore[arg-type]
            stack.users.kill()
            assert await _committed(stack, partition) <= sent.offset  # handled, not committed
            stack.start_users()
            for _ in range(600):
                if await _committed(stack, partition) > sent.offset:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the redelivered command was never committed")
            await asyncio.sleep(1)  # give a wrong second reply time to show up
            about = [Envelope.from_bytes(r.value) for r in replies.records if _about(command)(r)]  # type: ignore[operator]
        # One reply message: a second handling would have written a second one. The same one may be
        # published twice, when the kill fell between the relay's publish and its mark (at least once,
        # docs/architecture.md §3; the gateway ignores a reply it no longer waits for).
        assert len({reply.message_id for reply in about}) == 1, about
        assert _users_engine_rows(stack, user_id)[0] == 1
    finally:
        if stack.users is None or not stack.users.alive():
            stack.start_users()
