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
    RecallSeatAllowance,
    ReleaseSeat,
    ReserveSeat,
    ReturnSeatAllowance,
    SeatAllowanceGranted,
    SeatAllowanceRecalled,
    SeatDenied,
    SeatHolders,
    SeatUsage,
    SetSeatLimit,
    TakeAllowedSeat,
)
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, SEATS_QUERIES
from servicekit.answering import QueryProcessor
from servicekit.handling import MessageProcessor
from servicekit.messaging import OutboxEntry
from servicekit.records import RawRecord
from services.seats import store
from services.seats.handlers import QUERY_HANDLERS, command_handlers
from services.seats.schema import SCHEMA
from services.seats.store import SeatLimit
from tests.migrated_database import migrated_engine

REPLIES = "test.replies"
_offsets = count()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with migrated_engine(database_url, SCHEMA) as engine:
        yield engine


def _processor(engine: Engine, *, allowance_block: int = 0) -> MessageProcessor:
    """With no allowance by default: these tests are about the seats service's own decisions."""
    handlers = {**command_handlers(allowance_block=allowance_block), **QUERY_HANDLERS}
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
    with Session(engine) as session:  # the count kept with each take and release is the rows'
        assert usage.used == store.counted_seats(session, tenant=tenant)
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


def _allowance(engine: Engine, tenant: str = "acme") -> int:
    """What the seats service set aside, as the usage query shows it to operators."""
    usage = _ask(engine, GetSeatUsage(), tenant)
    assert isinstance(usage, SeatUsage)
    with Session(engine) as session:
        row = session.get(SeatLimit, tenant)
        assert usage.set_aside == (0 if row is None else row.allowance)
    return usage.set_aside


def test_a_reservation_sets_seats_aside_and_allowed_seats_become_the_users(engine: Engine) -> None:
    allowing = _processor(engine, allowance_block=50)
    _send(engine, SetSeatLimit(limit=10))
    _send(engine, ReserveSeat(user_id="a"), processor=allowing)
    assert SeatAllowanceGranted(amount=4) in _messages(engine, SEATS_EVENTS)
    assert (_usage(engine), _allowance(engine)) == ((1, 10), 4)
    for user in ("b", "c", "b"):  # "b" again: a seat already held only leaves the allowance
        _send(engine, TakeAllowedSeat(user_id=user), processor=allowing)
    assert (_usage(engine), _allowance(engine)) == ((3, 10), 1)
    # held + set aside = 4 of 10: a reservation may set aside half of the 5 left after it
    _send(engine, ReserveSeat(user_id="d"), processor=allowing)
    assert (_usage(engine), _allowance(engine)) == ((4, 10), 3)
    for user in ("e", "f", "g", "h", "i", "j", "k"):
        _send(engine, ReserveSeat(user_id=user), processor=allowing)
    # never beyond the limit: seats held + set aside = 10, the rest refused
    assert (_usage(engine), _allowance(engine)) == ((6, 10), 4)
    assert _messages(engine, SEATS_EVENTS)[-1] == SeatDenied(user_id="k", used=10, limit=10)


def test_a_lower_limit_the_allowance_does_not_fit_is_confirmed_once_it_is_given_back(engine: Engine) -> None:
    allowing = _processor(engine, allowance_block=50)
    _send(engine, SetSeatLimit(limit=10))
    _send(engine, ReserveSeat(user_id="a"), processor=allowing)  # 4 set aside
    lowering = _send(engine, SetSeatLimit(limit=3))
    [recall] = [m for m in _messages(engine, SEATS_EVENTS) if isinstance(m, SeatAllowanceRecalled)]
    assert recall.recall_id == str(lowering.message_id)
    assert _answers_to(engine, lowering) == []  # not confirmed yet
    _send(engine, ReserveSeat(user_id="b"), processor=allowing)  # 1 + 4 ≥ 3: refused, nothing set aside
    _send(engine, TakeAllowedSeat(user_id="c"), processor=allowing)  # spent before the recall arrived
    _send(engine, ReturnSeatAllowance(amount=3, recall_id=recall.recall_id), processor=allowing)
    assert _answers_to(engine, lowering) == [SeatUsage(limit=3, used=2)]
    assert (_usage(engine), _allowance(engine)) == ((2, 3), 0)
    _send(engine, ReserveSeat(user_id="d"), processor=allowing)
    assert (_usage(engine), _allowance(engine)) == ((3, 3), 0)


def test_a_raised_limit_is_confirmed_at_once_whatever_is_set_aside(engine: Engine) -> None:
    allowing = _processor(engine, allowance_block=50)
    _send(engine, SetSeatLimit(limit=10))
    _send(engine, ReserveSeat(user_id="a"), processor=allowing)
    _send(engine, SetSeatLimit(limit=20))
    assert _messages(engine, REPLIES)[-1] == SeatUsage(limit=20, used=1, set_aside=4)
    assert not any(isinstance(m, SeatAllowanceRecalled) for m in _messages(engine, SEATS_EVENTS))


def test_a_recall_whose_event_was_set_aside_is_answered_with_the_next_one(engine: Engine) -> None:
    allowing = _processor(engine, allowance_block=50)
    _send(engine, SetSeatLimit(limit=10))
    _send(engine, ReserveSeat(user_id="a"), processor=allowing)  # 4 set aside
    first = _send(engine, SetSeatLimit(limit=3))  # its recall never reaches the users service
    second = _send(engine, SetSeatLimit(limit=2))
    recalls = [m for m in _messages(engine, SEATS_EVENTS) if isinstance(m, SeatAllowanceRecalled)]
    assert [r.recall_id for r in recalls] == [str(first.message_id), str(second.message_id)]
    _send(engine, ReturnSeatAllowance(amount=4, recall_id=str(second.message_id)), processor=allowing)
    answered = {m.correlation_id for m in _envelopes(engine, REPLIES)}
    assert {first.correlation_id, second.correlation_id} <= answered
    _send(engine, SetSeatLimit(limit=10))
    _send(engine, ReserveSeat(user_id="b"), processor=allowing)  # no recall waits: seats set aside again
    assert _allowance(engine) == 4


def _returned(
    engine: Engine, recall: SeatAllowanceRecalled, *, amount: int, received: int, returned: int
) -> None:
    answer = ReturnSeatAllowance(amount=amount, recall_id=recall.recall_id, round=recall.round,
                                 received_total=received, returned_total=returned)  # fmt: skip
    _send(engine, answer, processor=_processor(engine, allowance_block=50))


def _recalls(engine: Engine) -> list[SeatAllowanceRecalled]:
    return [m for m in _messages(engine, SEATS_EVENTS) if isinstance(m, SeatAllowanceRecalled)]


def test_a_repair_frees_the_seats_of_a_grant_that_never_reached_the_users_service(engine: Engine) -> None:
    allowing = _processor(engine, allowance_block=50)
    _send(engine, SetSeatLimit(limit=20))
    _send(engine, ReserveSeat(user_id="a"), processor=allowing)  # 9 set aside, received
    _send(engine, ReserveSeat(user_id="b"), processor=allowing)  # 4 more, set aside on the way
    assert [m.amount for m in _messages(engine, SEATS_EVENTS) if isinstance(m, SeatAllowanceGranted)] == [
        9,
        4,
    ]
    _send(engine, TakeAllowedSeat(user_id="c"), processor=allowing)
    assert (_usage(engine), _allowance(engine)) == ((3, 20), 12)
    _send(engine, RecallSeatAllowance(), processor=allowing)
    [recall] = _recalls(engine)
    assert recall.round == 1
    _send(engine, ReserveSeat(user_id="d"), processor=allowing)  # nothing set aside while it waits
    assert _allowance(engine) == 12
    # the users service had 9, spent 2 (one TakeAllowedSeat still on its way), gives back 7
    _returned(engine, recall, amount=7, received=9, returned=7)
    assert (_usage(engine), _allowance(engine)) == ((4, 20), 1)
    _send(engine, TakeAllowedSeat(user_id="e"), processor=allowing)
    assert (_usage(engine), _allowance(engine)) == ((5, 20), 0)
    _send(engine, ReserveSeat(user_id="f"), processor=allowing)  # granted again, in round 1
    assert _messages(engine, SEATS_EVENTS)[-2] == SeatAllowanceGranted(amount=7, round=1)


def test_a_repair_with_nothing_set_aside_recalls_nothing(engine: Engine) -> None:
    _send(engine, SetSeatLimit(limit=20))
    _send(engine, ReserveSeat(user_id="a"))
    _send(engine, RecallSeatAllowance())
    assert _recalls(engine) == []


def test_a_return_replayed_after_a_later_one_was_counted_changes_nothing(engine: Engine) -> None:
    allowing = _processor(engine, allowance_block=50)
    _send(engine, SetSeatLimit(limit=20))
    _send(engine, ReserveSeat(user_id="a"), processor=allowing)  # 9 set aside
    _send(engine, RecallSeatAllowance(), processor=allowing)
    _send(engine, RecallSeatAllowance(), processor=allowing)  # the first's answer is late
    first, second = _recalls(engine)
    assert (first.round, second.round) == (1, 2)
    _returned(engine, second, amount=0, received=9, returned=9)  # the late answer's 9 are in its totals
    assert _allowance(engine) == 0
    _returned(engine, first, amount=9, received=9, returned=9)
    assert _allowance(engine) == 0
    _send(engine, ReserveSeat(user_id="b"), processor=allowing)  # no recall waits any more
    assert _allowance(engine) == 9


def _envelopes(engine: Engine, topic: str) -> list[Envelope]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEntry).where(OutboxEntry.topic == topic))
        return [Envelope.from_bytes(row.value) for row in rows]


def _answers_to(engine: Engine, request: Envelope) -> list[Message]:
    return [payload_of(e) for e in _envelopes(engine, REPLIES) if e.correlation_id == request.correlation_id]
