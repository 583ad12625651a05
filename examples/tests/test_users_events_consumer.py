"""The example consumer on a real broker: real envelopes in, the read model out; a redelivered event and a
replay of the whole topic change nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope, Message, wrap
from contracts.sources import ChangeSource
from contracts.topics import resource_key, tenant_key
from contracts.users import (
    ContactValue,
    DefaultManagerChanged,
    ManagerVia,
    RosterRole,
    UserCreated,
    UserDeactivated,
    UserDeleted,
    UserManagerChanged,
    UserProfile,
    UserRecord,
    UserUpdated,
)
from examples.users_events_consumer import Outcome, UsersReadModel, consume
from servicekit.settings import ServiceSettings
from servicekit.topics import ensure_topics

pytestmark = pytest.mark.kafka
NOW = datetime.now(UTC)


def _user(user_id: str, user_name: str, display: str, *, role: RosterRole | None = None) -> UserRecord:
    profile = UserProfile(
        user_name=user_name,
        display_name=display,
        emails=(ContactValue(value=user_name, type="work", primary=True),),
        roster_role=role,
    )
    return UserRecord(id=user_id, profile=profile, created=NOW, last_modified=NOW, version=1)


def _reports_to(user_id: str, manager_id: str) -> UserManagerChanged:
    return UserManagerChanged(
        user_id=user_id,
        manager_id=manager_id,
        previous_manager_id=None,
        via=ManagerVia.REFERENCE,
        source=ChangeSource.SCIM,
    )


@dataclass
class Topic:
    """A fresh users-events topic, and what was published on it."""

    name: str
    kafka: AIOKafkaProducer
    tenant: str = field(default_factory=lambda: f"t{uuid4().hex[:15]}")
    published: int = 0

    async def send(self, message: Message, *, about: str | None) -> Envelope:
        envelope = wrap(message, tenant=self.tenant, producer="users")
        await self.send_bytes(envelope.to_bytes(), about=about)
        return envelope

    async def send_bytes(self, value: bytes, *, about: str | None) -> None:
        key = tenant_key(self.tenant) if about is None else resource_key(self.tenant, about)
        await self.kafka.send_and_wait(self.name, value, key=key)
        self.published += 1


@pytest.fixture
async def topic(kafka_bootstrap: str) -> AsyncIterator[Topic]:
    name = f"example.users.events.{uuid4().hex[:8]}"
    await ensure_topics(
        ServiceSettings(service_name="tests", kafka_bootstrap_servers=kafka_bootstrap), [name]
    )
    kafka = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await kafka.start()
    yield Topic(name, kafka)
    await kafka.stop()


async def _until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the read model did not get there in time"
        await asyncio.sleep(0.1)


@asynccontextmanager
async def _consuming(model: UsersReadModel, bootstrap: str, topic: str, group: str) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(consume(model, bootstrap=bootstrap, group_id=group, stop=stop, topic=topic))
    try:
        yield
    finally:
        stop.set()
        await task


async def test_the_read_model_follows_events_and_a_redelivery_or_replay_changes_nothing(
    kafka_bootstrap: str, topic: Topic, tmp_path: Path
) -> None:
    ann, bob, cal = (str(uuid4()) for _ in range(3))
    ann_created = await topic.send(
        UserCreated(user=_user(ann, "ann@example.com", "Ann Lee", role=RosterRole.MANAGER)), about=ann
    )
    await topic.send(UserCreated(user=_user(bob, "bob@example.com", "Bob Ray")), about=bob)
    await topic.send(UserCreated(user=_user(cal, "cal@example.com", "Cal Ode")), about=cal)
    await topic.send(_reports_to(bob, ann), about=bob)
    renamed = _user(ann, "ann@example.com", "Ann Lee-Smith", role=RosterRole.MANAGER)
    await topic.send(UserUpdated(user=renamed.model_copy(update={"version": 2})), about=ann)
    await topic.send(UserDeactivated(user_id=bob), about=bob)
    await topic.send(UserDeleted(user_id=cal), about=cal)
    default = DefaultManagerChanged(chosen_id=ann, effective_id=ann, source=ChangeSource.PORTAL)
    await topic.send(default, about=None)
    future = ann_created.model_copy(update={"message_id": uuid4(), "type": "UserPromoted", "payload": {}})
    await topic.send_bytes(future.to_bytes(), about=ann)  # a type newer than these contracts
    await topic.send_bytes(b"not an envelope", about=bob)

    model = UsersReadModel(tmp_path / "read-model.db")
    async with _consuming(model, kafka_bootstrap, topic.name, "example-read-model"):
        await _until(lambda: sum(model.outcomes.values()) == topic.published)
        assert model.outcomes == {Outcome.APPLIED: 8, Outcome.SKIPPED: 1, Outcome.UNREADABLE: 1}
        ann_now = model.user(topic.tenant, ann)
        assert ann_now == {
            "tenant": topic.tenant,
            "user_id": ann,
            "user_name": "ann@example.com",
            "display_name": "Ann Lee-Smith",
            "email": "ann@example.com",
            "role": "manager",
            "active": 1,
            "manager_id": None,
            "version": 2,
        }
        bob_now = model.user(topic.tenant, bob)
        assert bob_now is not None
        assert (bob_now["active"], bob_now["manager_id"], bob_now["role"]) == (0, ann, "learner")
        assert model.user(topic.tenant, cal) is None
        assert model.default_manager(topic.tenant) == ann

        # Ann's first event again, byte for byte (a redelivery), then a new one about her. Her events
        # arrive in order, so once the new one is applied the redelivery has been seen: it changed nothing.
        await topic.send_bytes(ann_created.to_bytes(), about=ann)
        await topic.send(_reports_to(ann, bob), about=ann)
        await _until(lambda: sum(model.outcomes.values()) == topic.published)
        assert model.outcomes == {
            Outcome.APPLIED: 9,
            Outcome.DUPLICATE: 1,
            Outcome.SKIPPED: 1,
            Outcome.UNREADABLE: 1,
        }
        assert model.user(topic.tenant, ann) == {**ann_now, "manager_id": bob}
    final = {user: model.user(topic.tenant, user) for user in (ann, bob, cal)}
    model.close()

    # A new consumer group replays the whole topic into the same database: every event is a duplicate.
    replay = UsersReadModel(tmp_path / "read-model.db")
    async with _consuming(replay, kafka_bootstrap, topic.name, "example-read-model-replay"):
        await _until(lambda: sum(replay.outcomes.values()) == topic.published)
    assert replay.outcomes == {Outcome.DUPLICATE: 10, Outcome.SKIPPED: 1, Outcome.UNREADABLE: 1}
    assert {user: replay.user(topic.tenant, user) for user in (ann, bob, cal)} == final
    assert replay.default_manager(topic.tenant) == ann
    replay.close()
