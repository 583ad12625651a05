from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from contracts.topics import TEAMS_COMMANDS, TEAMS_EVENTS, USERS_EVENTS, resource_key
from servicekit import migrations
from servicekit.db import make_engine
from servicekit.handling import MessageProcessor, RawRecord
from servicekit.messaging import OutboxEntry
from services.teams.app import DEFINITION

REPLY_TOPIC = "test.replies"
_offsets = count()


class TeamsHarness:
    """The teams handlers behind the real message processor, on a real database: commands and
    queries as the gateway sends them, users events as the users service publishes them."""

    def __init__(self, engine: Engine, max_attempts: int = 3) -> None:
        self.engine = engine
        handlers = {
            h: f for topic_handlers in DEFINITION.subscriptions.values() for h, f in topic_handlers.items()
        }
        self.processor = MessageProcessor(
            engine=engine, handlers=handlers, producer="teams", max_attempts=max_attempts
        )
        self.listener = MessageProcessor(
            engine=engine,
            handlers=DEFINITION.listens[USERS_EVENTS],
            producer="teams",
            max_attempts=max_attempts,
            skip_unhandled=True,
        )

    def envelope(self, message: Message, *, tenant: str = "acme") -> Envelope:
        return wrap(message, tenant=tenant, producer="test", reply_to=REPLY_TOPIC)

    def deliver(self, envelope: Envelope, *, key: bytes = b"k") -> None:
        self.processor.process(RawRecord(TEAMS_COMMANDS, 0, next(_offsets), key, envelope.to_bytes()))

    def send(self, message: Message, *, tenant: str = "acme") -> Message:
        """Deliver a command or query and return the reply the outbox holds for it."""
        envelope = self.envelope(message, tenant=tenant)
        self.deliver(envelope)
        return self.reply_to(envelope)

    def user_event(self, message: Message, *, user_id: str, tenant: str = "acme") -> Envelope:
        """Deliver a users event (as the users service would publish it); returns it for redelivery."""
        envelope = wrap(message, tenant=tenant, producer="users")
        self.redeliver_event(envelope, user_id=user_id)
        return envelope

    def redeliver_event(self, envelope: Envelope, *, user_id: str) -> None:
        key = resource_key(envelope.tenant, user_id)
        self.listener.process(RawRecord(USERS_EVENTS, 0, next(_offsets), key, envelope.to_bytes()))

    def outbox(self, topic: str | None = None) -> list[OutboxEntry]:
        with Session(self.engine) as session:
            query = select(OutboxEntry).order_by(col(OutboxEntry.id))
            if topic is not None:
                query = query.where(OutboxEntry.topic == topic)
            return list(session.exec(query))

    def events(self) -> list[Message]:
        return [payload_of(Envelope.from_bytes(row.value)) for row in self.outbox(TEAMS_EVENTS)]

    def reply_to(self, envelope: Envelope) -> Message:
        key = str(envelope.correlation_id).encode()
        with Session(self.engine) as session:
            query = select(OutboxEntry.value).where(OutboxEntry.topic == REPLY_TOPIC, OutboxEntry.key == key)
            values = session.exec(query).all()
        assert len(values) == 1, f"expected exactly one reply, got {len(values)}"
        return payload_of(Envelope.from_bytes(values[0]))


@pytest.fixture
def teams_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrations.upgrade(engine, DEFINITION.schema)
    yield engine
    engine.dispose()


@pytest.fixture
def teams(teams_engine: Engine) -> TeamsHarness:
    return TeamsHarness(teams_engine)
