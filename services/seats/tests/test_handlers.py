"""Seats handlers through the real message processor, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from contracts.seats import (
    GetSeatUsage,
    ListSeatHolders,
    ReleaseSeat,
    ReserveSeat,
    SeatHolders,
    SeatUsage,
    SetSeatLimit,
)
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, SEATS_QUERIES
from servicekit import migrations
from servicekit.answering import QueryProcessor
from servicekit.db import make_engine
from servicekit.handling import MessageProcessor, RawRecord
from servicekit.messaging import OutboxEntry
from services.seats.handlers import COMMAND_HANDLERS, QUERY_HANDLERS
from services.seats.schema import SCHEMA

REPLIES = "test.replies"
_offsets = count()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = make_engine(database_url)
    migrations.upgrade(created, SCHEMA)
    yield created
    created.dispose()


def _processor(engine: Engine) -> MessageProcessor:
    handlers = {**COMMAND_HANDLERS, **QUERY_HANDLERS}
    return MessageProcessor(engine=engine, handlers=handlers, producer="seats", max_attempts=5)


def _send(
    engine: Engine, message: Message, tenant: str = "acme", processor: MessageProcessor | None = None
) -> Envelope:
    envelope = wrap(message, tenant=tenant, producer="test", reply_to=REPLIES)
    record = RawRecord(SEATS_COMMANDS, 0, next(_offsets), tenant.encode(), envelope.to_bytes())
    (processor or _processor(engine)).process(record)
    return envelope


def _messages(engine: Engine, topic: str) -> list[Message]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEntry).where(OutboxEntry.topic == topic).order_by(OutboxEntry.id))  # type: ignore[arg-type]
        return [payload_of(Envelope.from_bytes(row.value)) for row in rows]


def _ask(engine: Engine, query: Message, tenant: str = "acme") -> Message:
    """A query as the service answers it: from a read transaction, the reply returned, nothing stored."""
    envelope = wrap(query, tenant=tenant, producer="test", reply_to=REPLIES)
    record = RawRecord(SEATS_QUERIES, 0, next(_offsets), tenant.encode(), envelope.to_bytes())
    answerer = QueryProcessor(engine=engine, handlers=QUERY_HANDLERS, producer="seats", max_attempts=5)
    outbox_before = _messages(engine, REPLIES)
    [reply] = answerer.process(record)
    assert _messages(engine, REPLIES) == outbox_before  # a query writes nothing, not even its reply
    return payload_of(reply.envelope)


def _usage(engine: Engine, tenant: str = "acme") -> tuple[int, int]:
    usage = _ask(engine, GetSeatUsage(), tenant)
    assert isinstance(usage, SeatUsage)
    return usage.used, usage.limit


def test_reservations_stop_exactly_at_the_limit(engine: Engine) -> None:
    _send(engine, SetSeatLimit(limit=2))
    for user in ("a", "b", "c"):
        _send(engine, ReserveSeat(user_id=user))
    assert [m.type_name() for m in _messages(engine, SEATS_EVENTS)] == [
        "SeatLimitChanged",
        "SeatReserved",
        "SeatReserved",
        "SeatLimitReached",
        "SeatDenied",
    ]
    assert _usage(engine) == (2, 2)


def test_redelivered_and_repeated_reservations_never_count_twice(engine: Engine) -> None:
    _send(engine, SetSeatLimit(limit=5))
    envelope = wrap(ReserveSeat(user_id="a"), tenant="acme", producer="test")
    processor = _processor(engine)
    for _ in range(3):  # the same message redelivered
        processor.process(RawRecord(SEATS_COMMANDS, 0, 1, b"acme", envelope.to_bytes()))
    _send(engine, ReserveSeat(user_id="a"))  # the same request again, as a new message
    assert _usage(engine) == (1, 5)


def test_release_frees_the_seat_once(engine: Engine) -> None:
    _send(engine, SetSeatLimit(limit=1))
    _send(engine, ReserveSeat(user_id="a"))
    _send(engine, ReleaseSeat(user_id="a"))
    _send(engine, ReleaseSeat(user_id="a"))
    assert _usage(engine) == (0, 1)
    _send(engine, ReserveSeat(user_id="b"))
    holders = _ask(engine, ListSeatHolders())
    assert isinstance(holders, SeatHolders) and holders.user_ids == ("b",)


def test_lowering_the_limit_keeps_every_seat_but_refuses_new_ones(engine: Engine) -> None:
    _send(engine, SetSeatLimit(limit=3))
    for user in ("a", "b", "c"):
        _send(engine, ReserveSeat(user_id=user))
    _send(engine, SetSeatLimit(limit=1))
    _send(engine, ReserveSeat(user_id="d"))
    assert _usage(engine) == (3, 1)
    for user in ("a", "b", "c"):
        _send(engine, ReleaseSeat(user_id=user))
    _send(engine, ReserveSeat(user_id="d"))
    assert _usage(engine) == (1, 1)


def test_tenants_have_their_own_seats_and_an_unset_limit_gets_the_default(engine: Engine) -> None:
    _send(engine, SetSeatLimit(limit=1), tenant="acme")
    _send(engine, ReserveSeat(user_id="a"), tenant="acme")
    _send(engine, ReserveSeat(user_id="a"), tenant="globex")
    assert _usage(engine, "acme") == (1, 1)
    assert _usage(engine, "globex") == (1, 100)


def test_concurrent_reservations_from_two_instances_never_exceed_the_limit(engine: Engine) -> None:
    """Two processors (as two service instances during a rebalance) racing for 10 seats."""
    _send(engine, SetSeatLimit(limit=10))
    processors = [_processor(engine), _processor(engine)]

    def reserve(index: int) -> None:
        envelope = wrap(ReserveSeat(user_id=f"u{index}"), tenant="acme", producer="test")
        record = RawRecord(SEATS_COMMANDS, index % 2, index, b"acme", envelope.to_bytes())
        for _ in range(20):  # a conflicting transaction raises: retried as a redelivery would be
            try:
                processors[index % 2].process(record)
                return
            except Exception:
                continue

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(reserve, range(30)))
    assert _usage(engine) == (10, 10)
    reserved = [m for m in _messages(engine, SEATS_EVENTS) if m.type_name() == "SeatReserved"]
    assert len(reserved) == 10
