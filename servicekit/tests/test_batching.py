"""Batches (servicekit/batching.py) on a real database, SQLite and PostgreSQL: the records of a batch
share one transaction, each still in the inbox; whatever fails a batch sends its records down the
per-record path, where retries, dead letters and refusals work as for a record alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from contracts.envelope import Envelope, wrap
from contracts.rejections import Rejection, RejectionReason
from contracts.replies import CommandRejected
from contracts.seats import ReserveSeat
from contracts.topics import dead_letter_topic
from servicekit.batching import BatchProcessor
from servicekit.handling import MessageProcessor
from servicekit.messaging import InboxEntry, OutboxEntry
from servicekit.records import Outgoing, RawRecord

TOPIC = "test.events.v1"
DONE = "test.done.v1"  # each handled message leaves one row for this topic in the outbox
REPLIES = "test.replies"
_offsets = count()


class NoSeat(Rejection):
    reason = RejectionReason.SEAT_LIMIT_REACHED


class Crash(BaseException):
    """Stands for the process dying mid-batch: not an ``Exception``, so nothing catches it."""


def _record(envelope: Envelope | None, *, partition: int = 0) -> RawRecord:
    value = envelope.to_bytes() if envelope else b"\xffnot an envelope"
    return RawRecord(TOPIC, partition, next(_offsets), b"acme", value)


def _seat(user: str) -> Envelope:
    return wrap(ReserveSeat(user_id=user), tenant="acme", producer="test", reply_to=REPLIES)


def _handler(calls: list[str], fail: Callable[[str], BaseException | None]) -> Any:
    def handle(_session: Session, envelope: Envelope, message: ReserveSeat) -> list[Outgoing]:
        calls.append(message.user_id)
        failure = fail(message.user_id)
        if failure is not None:
            raise failure
        done = wrap(ReserveSeat(user_id=message.user_id), tenant=envelope.tenant, producer="test")
        return [Outgoing(topic=DONE, key=b"acme", envelope=done)]

    return handle


def _batches(
    engine: Engine, calls: list[str], fail: Callable[[str], BaseException | None] = lambda user: None
) -> BatchProcessor:
    processor = MessageProcessor(
        engine=engine, handlers={ReserveSeat: _handler(calls, fail)}, producer="test", max_attempts=3
    )
    return BatchProcessor(processor, engine=engine)


def _done(engine: Engine) -> list[str]:
    """The users whose message was handled, once per outbox row (a duplicate shows twice)."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxEntry).where(OutboxEntry.topic == DONE)).all()
    return sorted(Envelope.from_bytes(row.value).payload["user_id"] for row in rows)


def _outbox(engine: Engine, topic: str) -> list[OutboxEntry]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEntry).where(OutboxEntry.topic == topic)).all())


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[int]]:
    counted: list[int] = []

    def on_commit(_connection: Any) -> None:
        counted.append(1)

    event.listen(engine, "commit", on_commit)
    yield counted
    event.remove(engine, "commit", on_commit)


def _deliver_until_settled(batches: BatchProcessor, records: Sequence[RawRecord]) -> int:
    """As the consumer does: an exception rewinds to the batch's first record, which comes again."""
    for delivery in range(1, 10):
        try:
            batches.process(records)
        except Exception:
            continue
        return delivery
    raise AssertionError("never settled")


def test_a_batch_is_one_transaction_and_each_record_is_in_the_inbox(
    engine: Engine, commits: list[int]
) -> None:
    calls: list[str] = []
    envelopes = [_seat(f"u{i}") for i in range(20)]
    _batches(engine, calls).process([_record(e, partition=i % 3) for i, e in enumerate(envelopes)])
    assert len(commits) == 1
    assert _done(engine) == sorted(f"u{i}" for i in range(20))
    with Session(engine) as session:
        inbox = {entry.message_id for entry in session.exec(select(InboxEntry)).all()}
    assert inbox == {envelope.message_id for envelope in envelopes}


def test_a_redelivered_batch_is_skipped_record_by_record(engine: Engine, commits: list[int]) -> None:
    calls: list[str] = []
    first = [_seat(f"u{i}") for i in range(5)]
    _batches(engine, calls).process([_record(e) for e in first])
    # Redelivered (the offsets were not committed), now with two new records behind them.
    again = [*first, _seat("u5"), _seat("u6")]
    _batches(engine, calls).process([_record(e) for e in again])
    assert len(commits) == 2
    assert calls == [f"u{i}" for i in range(7)]  # each handler ran once
    assert _done(engine) == [f"u{i}" for i in range(7)]


def test_a_poison_record_in_a_batch_is_dead_lettered_and_the_others_land_once(engine: Engine) -> None:
    calls: list[str] = []
    batches = _batches(engine, calls, fail=lambda user: RuntimeError("broken") if user == "bad" else None)
    envelopes = [_seat("u0"), _seat("u1"), _seat("bad"), _seat("u3"), _seat("u4")]
    records = [_record(e) for e in envelopes]
    assert _deliver_until_settled(batches, records) == 3  # max_attempts, as for a record alone
    assert _done(engine) == ["u0", "u1", "u3", "u4"]
    (dead,) = _outbox(engine, dead_letter_topic(TOPIC))
    assert dead.value == records[2].value
    (failure,) = _outbox(engine, REPLIES)  # its sender is told it was set aside
    assert Envelope.from_bytes(failure.value).payload["reason"] == RejectionReason.INTERNAL_ERROR
    assert calls.count("u4") == 1  # not run again on the redeliveries: the inbox skipped it


def test_an_undecodable_record_in_a_batch_is_dead_lettered_and_the_others_land(engine: Engine) -> None:
    calls: list[str] = []
    records = [_record(_seat("u0")), _record(None), _record(_seat("u2"))]
    assert _deliver_until_settled(_batches(engine, calls), records) == 1
    assert _done(engine) == ["u0", "u2"]
    assert [row.value for row in _outbox(engine, dead_letter_topic(TOPIC))] == [records[1].value]


def test_a_rejection_in_a_batch_is_answered_and_the_others_land(engine: Engine) -> None:
    calls: list[str] = []
    no = NoSeat("no seat")
    batches = _batches(engine, calls, fail=lambda user: no if user == "refused" else None)
    records = [_record(_seat("u0")), _record(_seat("refused")), _record(_seat("u2"))]
    assert _deliver_until_settled(batches, records) == 1
    assert _done(engine) == ["u0", "u2"]
    (refusal,) = _outbox(engine, REPLIES)
    answer = CommandRejected.model_validate(Envelope.from_bytes(refusal.value).payload)
    assert answer.reason == RejectionReason.SEAT_LIMIT_REACHED


def test_a_crash_mid_batch_loses_and_duplicates_nothing(engine: Engine) -> None:
    calls: list[str] = []
    crashing = _batches(engine, calls, fail=lambda user: Crash() if user == "u3" else None)
    records = [_record(_seat(f"u{i}")) for i in range(6)]
    with pytest.raises(Crash):
        crashing.process(records)
    assert _done(engine) == []  # the batch's transaction never committed
    # The restarted process gets the whole batch again (its offsets were not committed).
    assert _deliver_until_settled(_batches(engine, calls), records) == 1
    assert _done(engine) == [f"u{i}" for i in range(6)]
