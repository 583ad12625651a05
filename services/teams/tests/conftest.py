from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from contracts.topics import TEAMS_COMMANDS, TEAMS_EVENTS, TEAMS_QUERIES, USERS_EVENTS, resource_key
from servicekit import migrations
from servicekit.answering import QueryProcessor
from servicekit.db import make_engine
from servicekit.handling import MessageProcessor
from servicekit.messaging import OutboxEntry
from servicekit.records import RawRecord
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
        # Queries as the service answers them: a read transaction, the reply returned, not stored.
        [queries] = DEFINITION.queries.values()
        self.answerer = QueryProcessor(
            engine=engine, handlers=queries, producer="teams", max_attempts=max_attempts
        )
        self._query_types = {query.type_name() for query in queries}
        self.answers: list[Envelope] = []
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
        if envelope.type in self._query_types:
            record = RawRecord(TEAMS_QUERIES, 0, next(_offsets), key, envelope.to_bytes())
            self.answers += [outgoing.envelope for outgoing in self.answerer.process(record)]
            return
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
            replies = [Envelope.from_bytes(value) for value in session.exec(query).all()]
        replies += [a for a in self.answers if a.correlation_id == envelope.correlation_id]
        assert len(replies) == 1, f"expected exactly one reply, got {len(replies)}"
        return payload_of(replies[0])


@pytest.fixture
def teams_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrations.upgrade(engine, DEFINITION.schema)
    yield engine
    engine.dispose()


@pytest.fixture
def teams(teams_engine: Engine) -> TeamsHarness:
    return TeamsHarness(teams_engine)
