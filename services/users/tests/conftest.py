from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from contracts.topics import USERS_COMMANDS
from servicekit.db import create_tables, make_engine
from servicekit.handling import MessageProcessor, RawRecord
from servicekit.messaging import MESSAGING_TABLES, OutboxEntry
from services.users.app import DEFINITION
from services.users.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.users.store import USER_TABLES

REPLY_TOPIC = "test.replies"
_offsets = count()


class UsersHarness:
    """The users handlers behind the real message processor, on a real database."""

    def __init__(self, engine: Engine, max_attempts: int = 3) -> None:
        self.engine = engine
        handlers = {**COMMAND_HANDLERS, **QUERY_HANDLERS}
        self.processor = MessageProcessor(
            engine=engine, handlers=handlers, producer="users", max_attempts=max_attempts
        )

    def envelope(self, message: Message, *, tenant: str = "acme") -> Envelope:
        return wrap(message, tenant=tenant, producer="test", reply_to=REPLY_TOPIC)

    def deliver_raw(self, value: bytes, *, topic: str = USERS_COMMANDS) -> None:
        self.processor.process(RawRecord(topic, 0, next(_offsets), b"k", value))

    def deliver(self, envelope: Envelope) -> None:
        self.deliver_raw(envelope.to_bytes())

    def send(self, message: Message, *, tenant: str = "acme") -> Message:
        """Deliver and return the reply the outbox holds for it."""
        envelope = self.envelope(message, tenant=tenant)
        self.deliver(envelope)
        return self.reply_to(envelope)

    def outbox(self) -> list[OutboxEntry]:
        with Session(self.engine) as session:
            return list(session.exec(select(OutboxEntry).order_by(OutboxEntry.id)))  # type: ignore[arg-type]

    def reply_to(self, envelope: Envelope) -> Message:
        replies = [Envelope.from_bytes(row.value) for row in self.outbox() if row.topic == REPLY_TOPIC]
        matching = [r for r in replies if r.correlation_id == envelope.correlation_id]
        assert len(matching) == 1, f"expected exactly one reply, got {len(matching)}"
        return payload_of(matching[0])


@pytest.fixture
def users_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_tables(engine, [*USER_TABLES, *MESSAGING_TABLES])
    yield engine
    engine.dispose()


@pytest.fixture
def harness(users_engine: Engine) -> UsersHarness:
    assert DEFINITION.name == "users"
    return UsersHarness(users_engine)
