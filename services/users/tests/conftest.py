from __future__ import annotations

from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from contracts.seats import SetSeatLimit
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, USERS_COMMANDS
from servicekit import migrations
from servicekit.answering import QueryProcessor
from servicekit.db import make_engine
from servicekit.handling import MessageProcessor
from servicekit.messaging import OutboxEntry, claim_unpublished, mark_published
from servicekit.records import RawRecord
from services.seats.app import DEFINITION as SEATS
from services.seats.handlers import QUERY_HANDLERS as SEAT_QUERY_HANDLERS
from services.seats.handlers import command_handlers
from services.users.app import DEFINITION
from services.users.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.users.seating import NEEDLESS, SAGA_COMPENSATIONS, SEAT_EVENT_HANDLERS

REPLY_TOPIC = "test.replies"
_offsets = count()


class UsersHarness:
    """The users handlers behind the real message processor, on a real database — and, for the
    seat saga, the real seats handlers on a database of their own, with messages pumped between
    the two outboxes as the relays and Kafka would carry them."""

    def __init__(
        self, engine: Engine, seats_engine: Engine, max_attempts: int = 3, allowance_block: int = 0
    ) -> None:
        """``allowance_block`` 0: every activation waits for a seat decision (the saga's tests); the
        allowance has tests of its own (test_seat_allowance.py)."""
        self.engine = engine
        self.seats_engine = seats_engine
        handlers = {**COMMAND_HANDLERS, **QUERY_HANDLERS}
        self.processor = MessageProcessor(
            engine=engine, handlers=handlers, producer="users", max_attempts=max_attempts
        )
        # Queries as the service answers them: a read transaction, the reply returned, not stored.
        self.answerer = QueryProcessor(
            engine=engine, handlers=QUERY_HANDLERS, producer="users", max_attempts=max_attempts
        )
        self.answers: list[Envelope] = []
        self.seat_listener = MessageProcessor(
            engine=engine,
            handlers=SEAT_EVENT_HANDLERS,
            producer="users",
            max_attempts=3,
            skip_unhandled=True,
            compensations=SAGA_COMPENSATIONS,
            needless=NEEDLESS,
        )
        seat_handlers = {**command_handlers(allowance_block=allowance_block), **SEAT_QUERY_HANDLERS}
        self.seats = MessageProcessor(
            engine=seats_engine, handlers=seat_handlers, producer="seats", max_attempts=3
        )

    def pump(self) -> None:
        """Carry ReserveSeat/ReleaseSeat to the seats handlers and their events back, until quiet."""
        while self._carry(self.engine, SEATS_COMMANDS, self.seats) + self._carry(
            self.seats_engine, SEATS_EVENTS, self.seat_listener
        ):
            pass

    @staticmethod
    def _carry(engine: Engine, topic: str, processor: MessageProcessor) -> int:
        messages = take_unsent(engine, topic)
        for key, value in messages:
            processor.process(RawRecord(topic, 0, next(_offsets), key, value))
        return len(messages)

    def set_seat_limit(self, limit: int, *, tenant: str = "acme") -> None:
        envelope = wrap(SetSeatLimit(limit=limit), tenant=tenant, producer="test")
        self.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), tenant.encode(), envelope.to_bytes()))

    def envelope(self, message: Message, *, tenant: str = "acme") -> Envelope:
        return wrap(message, tenant=tenant, producer="test", reply_to=REPLY_TOPIC)

    def deliver_raw(self, value: bytes, *, topic: str = USERS_COMMANDS, pump: bool = True) -> None:
        """``pump=False`` holds the seat saga where it is, as a seats service that is down would."""
        record = RawRecord(topic, 0, next(_offsets), b"k", value)
        if _is_query(value):
            self.answers += [outgoing.envelope for outgoing in self.answerer.process(record)]
        else:
            self.processor.process(record)
        if pump:
            self.pump()

    def deliver(self, envelope: Envelope, *, pump: bool = True) -> None:
        self.deliver_raw(envelope.to_bytes(), pump=pump)

    def send(self, message: Message, *, tenant: str = "acme") -> Message:
        """Deliver and return the reply the outbox holds for it."""
        envelope = self.envelope(message, tenant=tenant)
        self.deliver(envelope)
        return self.reply_to(envelope)

    def ask(self, message: Message, *, tenant: str = "acme") -> Message:
        """``send``, finding the reply by its key: fast however many messages the database holds."""
        envelope = self.envelope(message, tenant=tenant)
        self.deliver(envelope)
        key = str(envelope.correlation_id).encode()
        with Session(self.engine) as session:
            query = select(OutboxEntry.value).where(OutboxEntry.topic == REPLY_TOPIC, OutboxEntry.key == key)
            stored = [Envelope.from_bytes(value) for value in session.exec(query).all()]
        answered = [a for a in self.answers if a.correlation_id == envelope.correlation_id]
        [reply] = stored + answered
        return payload_of(reply)

    def outbox(self) -> list[OutboxEntry]:
        with Session(self.engine) as session:
            return list(session.exec(select(OutboxEntry).order_by(OutboxEntry.id)))  # type: ignore[arg-type]

    def reply_to(self, envelope: Envelope) -> Message:
        replies = [Envelope.from_bytes(row.value) for row in self.outbox() if row.topic == REPLY_TOPIC]
        replies += self.answers
        matching = [r for r in replies if r.correlation_id == envelope.correlation_id]
        assert len(matching) == 1, f"expected exactly one reply, got {len(matching)}"
        return payload_of(matching[0])


def take_unsent(
    engine: Engine, topic: str, *, key: bytes | None = None, limit: int = 100_000
) -> list[tuple[bytes | None, bytes]]:
    """What a relay would publish from ``engine``'s outbox on ``topic`` (and ``key``), marked published:
    the records' keys and values, oldest first."""
    with Session(engine) as session, session.begin():
        rows = claim_unpublished(session, limit=limit, topic=topic, key=key)
        mark_published(session, ids=[row.id for row in rows if row.id is not None])
        return [(row.key, row.value) for row in rows]


@pytest.fixture
def users_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrations.upgrade(engine, DEFINITION.schema)
    yield engine
    engine.dispose()


@pytest.fixture
def seats_engine(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'seats.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database("s")
    engine = make_engine(url)
    migrations.upgrade(engine, SEATS.schema)
    yield engine
    engine.dispose()


@pytest.fixture
def harness(users_engine: Engine, seats_engine: Engine) -> UsersHarness:
    assert DEFINITION.name == "users"
    return UsersHarness(users_engine, seats_engine)


def _is_query(value: bytes) -> bool:
    """Whether the service's query topic would carry this record (unreadable bytes: a command's)."""
    try:
        return Envelope.from_bytes(value).type in {query.type_name() for query in QUERY_HANDLERS}
    except ValueError:
        return False
