"""The compensation hook of the message processor (servicekit/handling.py), on a real database: a
message that fails every attempt is undone by its compensation, which settles it; a compensation
that fails too leaves the message to the dead-letter topic, as without one."""

from __future__ import annotations

from itertools import count
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts.envelope import Envelope, wrap
from contracts.seats import ReleaseSeat, SeatReserved
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, dead_letter_topic
from servicekit.handling import MessageProcessor
from servicekit.messaging import OutboxEntry, already_processed
from servicekit.records import Outgoing, RawRecord

_offsets = count()


def _failing(_session: Session, _envelope: Envelope, _message: Any) -> list[Outgoing]:
    raise RuntimeError("the finishing step fails")


def _release(_session: Session, envelope: Envelope, message: SeatReserved) -> list[Outgoing]:
    undo = wrap(ReleaseSeat(user_id=message.user_id), tenant=envelope.tenant, producer="test")
    return [Outgoing(topic=SEATS_COMMANDS, key=b"acme", envelope=undo)]


def _deliver_until_settled(processor: MessageProcessor, envelope: Envelope) -> int:
    record = RawRecord(SEATS_EVENTS, 0, next(_offsets), b"acme", envelope.to_bytes())
    for attempt in range(1, 10):
        try:
            processor.process(record)
        except RuntimeError:
            continue
        return attempt
    raise AssertionError("never settled")


def _outbox_topics(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [row.topic for row in session.exec(select(OutboxEntry).order_by(OutboxEntry.id))]  # type: ignore[arg-type]


def _processor(engine: Engine, compensation: Any, compensated: list[str]) -> MessageProcessor:
    return MessageProcessor(
        engine=engine,
        handlers={SeatReserved: _failing},
        producer="test",
        max_attempts=3,
        compensations={SeatReserved: compensation},
        on_compensated=compensated.append,
    )


def test_a_message_failing_every_attempt_is_undone_by_its_compensation(engine: Engine) -> None:
    compensated: list[str] = []
    granted = wrap(SeatReserved(user_id="u1", used=1, limit=5), tenant="acme", producer="seats")
    assert _deliver_until_settled(_processor(engine, _release, compensated), granted) == 3
    assert _outbox_topics(engine) == [SEATS_COMMANDS]  # the undo, no dead letter
    assert compensated == [SEATS_EVENTS]
    with Session(engine) as session:
        assert already_processed(session, message_id=granted.message_id)  # a redelivery changes nothing
    assert _deliver_until_settled(_processor(engine, _release, compensated), granted) == 1  # settled
    assert _outbox_topics(engine) == [SEATS_COMMANDS]


def test_a_compensation_that_fails_too_leaves_the_message_to_its_dead_letter_topic(engine: Engine) -> None:
    compensated: list[str] = []
    granted = wrap(SeatReserved(user_id="u1", used=1, limit=5), tenant="acme", producer="seats")
    assert _deliver_until_settled(_processor(engine, _failing, compensated), granted) == 3
    assert _outbox_topics(engine) == [dead_letter_topic(SEATS_EVENTS)]
    assert compensated == []
