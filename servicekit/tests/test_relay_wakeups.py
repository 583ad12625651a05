"""The relay is told after a commit exactly when that commit left outbox rows for it (SQLite and
PostgreSQL): a handled message that sends something, a refusal, a batch with something to send; never
a message that sends nothing or a redelivery the inbox skips, which would only cost it a claim."""

from __future__ import annotations

from itertools import count

from sqlalchemy import Engine
from sqlmodel import Session, func, select

from contracts.envelope import Envelope, wrap
from contracts.rejections import Rejection, RejectionReason
from contracts.seats import ReserveSeat
from servicekit.batching import BatchProcessor
from servicekit.handling import MessageProcessor
from servicekit.messaging import OutboxEntry
from servicekit.records import Outgoing, RawRecord

TOPIC = "test.events.v1"
_offsets = count()


class NoSeat(Rejection):
    reason = RejectionReason.SEAT_LIMIT_REACHED


def _handle(_session: Session, envelope: Envelope, message: ReserveSeat) -> list[Outgoing]:
    """``quiet…`` sends nothing, ``refused…`` is refused, anything else sends one event."""
    if message.user_id.startswith("quiet"):
        return []
    if message.user_id.startswith("refused"):
        raise NoSeat("no seat")
    event = wrap(ReserveSeat(user_id=message.user_id), tenant=envelope.tenant, producer="test")
    return [Outgoing(topic="test.done.v1", key=b"acme", envelope=event)]


def _record(user_id: str) -> RawRecord:
    envelope = wrap(ReserveSeat(user_id=user_id), tenant="acme", producer="test", reply_to="test.replies")
    return RawRecord(TOPIC, 0, next(_offsets), b"acme", envelope.to_bytes())


def _processor(engine: Engine, wakeups: list[int]) -> MessageProcessor:
    return MessageProcessor(
        engine=engine,
        handlers={ReserveSeat: _handle},
        producer="test",
        max_attempts=3,
        on_committed=lambda: wakeups.append(1),
    )


def _outbox_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(OutboxEntry)).one()


def test_one_record_wakes_the_relay_only_when_it_left_rows(engine: Engine) -> None:
    wakeups: list[int] = []
    processor = _processor(engine, wakeups)
    sends, quiet, refused = _record("u1"), _record("quiet1"), _record("refused1")

    for record, rows, woken in ((quiet, 0, 0), (sends, 1, 1), (refused, 2, 2), (sends, 2, 2)):
        processor.process(record)  # the last one again: a redelivery the inbox skips
        assert (_outbox_rows(engine), len(wakeups)) == (rows, woken)


def test_a_batch_wakes_the_relay_once_and_only_when_it_left_rows(engine: Engine) -> None:
    wakeups: list[int] = []
    batches = BatchProcessor(_processor(engine, wakeups), engine=engine)

    batches.process([_record("quiet1"), _record("quiet2"), _record("quiet3")])
    assert (_outbox_rows(engine), len(wakeups)) == (0, 0)

    batches.process([_record("quiet4"), _record("u1"), _record("u2")])
    assert (_outbox_rows(engine), len(wakeups)) == (2, 1)
