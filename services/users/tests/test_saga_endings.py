"""Every saga ends, and a repair never undoes a later change: the users handlers with the real seats
handlers on real databases, with faults injected (servicekit.faults) where a step must fail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from uuid import uuid4

import pytest
from sqlmodel import Session

from contracts.envelope import Envelope
from contracts.registry import payload_of
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.seats import ListSeatHolders, ReleaseSeat, SeatHolders, SeatReserved
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS
from contracts.users import (
    CreateUser,
    DeleteUser,
    GetUser,
    ListActiveUserIds,
    ReconcileSeat,
    ReplaceUser,
    UserIds,
    UserProfile,
    UserReply,
)
from servicekit import faults
from servicekit.handling import MessageProcessor
from servicekit.records import RawRecord
from services.seats import store as seats_store
from services.users import pending
from services.users.seating import GIVE_UP_AFTER, ask_again_for_lost_decisions
from services.users.tests.conftest import UsersHarness, take_unsent

_offsets = count(1_000_000)


@pytest.fixture
def armed(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Fault points armed through ROSTER_FAULTS, as a test stack arms them; disarmed afterwards."""
    yield monkeypatch
    monkeypatch.delenv(faults.VARIABLE, raising=False)
    faults.rearm()


def _arm(armed: pytest.MonkeyPatch, value: str) -> None:
    armed.setenv(faults.VARIABLE, value)
    faults.rearm()


def _holders(harness: UsersHarness) -> set[str]:
    with Session(harness.seats_engine) as session:
        return set(seats_store.seat_holders(session, tenant="acme", after=None, limit=10_000))


def _unsent(harness: UsersHarness, engine_name: str, topic: str) -> list[Envelope]:
    """Take the outbox's unsent messages for ``topic``, as a relay would."""
    engine = harness.engine if engine_name == "users" else harness.seats_engine
    return [Envelope.from_bytes(value) for _, value in take_unsent(engine, topic)]


def _redeliver_until_settled(processor: MessageProcessor, topic: str, envelope: Envelope) -> int:
    """Deliver one record again and again, as Kafka does after a failed attempt; how many it took."""
    record = RawRecord(topic, 0, next(_offsets), b"acme", envelope.to_bytes())
    for attempt in range(1, 20):
        try:
            processor.process(record)
        except Exception:
            continue
        return attempt
    raise AssertionError("never settled")


def _granted_but_unfinished(harness: UsersHarness, command: CreateUser | ReplaceUser) -> Envelope:
    """The change is parked, its seat taken by the seats service; its SeatReserved is delivered while
    the finishing step fails every time. Returns the request."""
    request = harness.envelope(command)
    harness.deliver(request, pump=False)
    for reserve in _unsent(harness, "users", SEATS_COMMANDS):
        harness.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), b"acme", reserve.to_bytes()))
    assert command.user_id in _holders(harness)
    [granted] = _unsent(harness, "seats", SEATS_EVENTS)
    assert _redeliver_until_settled(harness.seat_listener, SEATS_EVENTS, granted) == 3  # max_attempts
    return request


def test_a_create_whose_finishing_step_keeps_failing_is_undone(
    harness: UsersHarness, armed: pytest.MonkeyPatch
) -> None:
    _arm(armed, "users.seat_granted=fail")
    create = CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="stuck@example.com"))
    request = _granted_but_unfinished(harness, create)

    answer = harness.reply_to(request)
    assert isinstance(answer, CommandRejected) and answer.reason == RejectionReason.INTERNAL_ERROR
    assert answer.detail.startswith(
        "Roster could not finish this change and undid it: the user was not created"
    )
    releases = _unsent(harness, "users", SEATS_COMMANDS)
    assert [payload_of(e) for e in releases] == [ReleaseSeat(user_id=create.user_id)]
    assert releases[0].correlation_id == request.correlation_id  # the saga's own conversation
    for release in releases:
        harness.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), b"acme", release.to_bytes()))
    assert _holders(harness) == set()
    with Session(harness.engine) as session:
        assert pending.pending_user_ids(session, tenant="acme") == []
    missing = harness.send(GetUser(user_id=create.user_id))
    assert isinstance(missing, CommandRejected) and missing.reason == RejectionReason.NOT_FOUND
    _arm(armed, "")  # the userName is free again
    assert isinstance(harness.send(CreateUser(user_id=str(uuid4()), profile=create.profile)), UserReply)


def test_a_reactivation_whose_finishing_step_keeps_failing_leaves_the_user_inactive(
    harness: UsersHarness, armed: pytest.MonkeyPatch
) -> None:
    user_id = str(uuid4())
    profile = UserProfile(user_name="again@example.com", active=False)
    assert isinstance(harness.send(CreateUser(user_id=user_id, profile=profile)), UserReply)
    _arm(armed, "users.seat_granted=fail")
    reactivate = ReplaceUser(user_id=user_id, profile=profile.model_copy(update={"active": True}))
    request = _granted_but_unfinished(harness, reactivate)

    answer = harness.reply_to(request)
    assert isinstance(answer, CommandRejected) and "left inactive" in answer.detail
    harness.pump()
    assert _holders(harness) == set()
    user = harness.send(GetUser(user_id=user_id))
    assert isinstance(user, UserReply) and user.user.profile.active is False and user.user.version == 1


def test_a_seat_decision_that_never_comes_is_given_up_after_a_quarter_of_an_hour(
    harness: UsersHarness,
) -> None:
    request = harness.envelope(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="late@x.com")))
    harness.deliver(request, pump=False)  # the seats service never decides
    assert _sweep(GIVE_UP_AFTER - timedelta(minutes=1), harness) == 1  # asked again, still waiting
    assert not [row for row in harness.outbox() if row.topic == "test.replies"]
    assert _sweep(GIVE_UP_AFTER + timedelta(seconds=1), harness) == 1  # given up
    answer = harness.reply_to(request)
    assert isinstance(answer, CommandRejected) and answer.reason == RejectionReason.INTERNAL_ERROR
    harness.pump()  # the late reservations, then the release, reach the seats service in that order
    assert _holders(harness) == set()
    assert _sweep(GIVE_UP_AFTER * 2, harness) == 0


def _sweep(after: timedelta, harness: UsersHarness) -> int:
    with Session(harness.engine) as session, session.begin():
        return ask_again_for_lost_decisions(session, datetime.now(UTC) + after)


def test_a_repair_follows_the_user_as_they_are_when_it_is_handled(harness: UsersHarness) -> None:
    active, inactive, deleted = (str(uuid4()) for _ in range(3))
    for user_id, name, on in (
        (active, "a@x.com", True),
        (inactive, "i@x.com", False),
        (deleted, "d@x.com", True),
    ):
        assert isinstance(
            harness.send(CreateUser(user_id=user_id, profile=UserProfile(user_name=name, active=on))),
            UserReply,
        )
    harness.send(DeleteUser(user_id=deleted))
    with Session(harness.seats_engine) as session, session.begin():
        seats_store.lock_tenant(session, tenant="acme")
        seats_store.free_seat(session, tenant="acme", user_id=active)  # drift: active without a seat
        seats_store.take_seat(session, tenant="acme", user_id=inactive)  # drift: a seat without a user
        seats_store.take_seat(session, tenant="acme", user_id=deleted)
    for user_id in (active, inactive, deleted, str(uuid4())):
        harness.deliver(harness.envelope(ReconcileSeat(user_id=user_id)))
    assert _holders(harness) == {active}


def test_a_repair_read_before_a_deactivation_never_gives_the_seat_back(harness: UsersHarness) -> None:
    user_id = str(uuid4())
    profile = UserProfile(user_name="leaving@x.com")
    assert isinstance(harness.send(CreateUser(user_id=user_id, profile=profile)), UserReply)
    with Session(harness.seats_engine) as session, session.begin():
        seats_store.lock_tenant(session, tenant="acme")
        seats_store.free_seat(session, tenant="acme", user_id=user_id)  # drift the reconcile reads
    # The deactivation is handled before the repair the reconcile decided on (same user, same key).
    assert isinstance(
        harness.send(ReplaceUser(user_id=user_id, profile=profile.model_copy(update={"active": False}))),
        UserReply,
    )
    harness.deliver(harness.envelope(ReconcileSeat(user_id=user_id)))
    assert _holders(harness) == set()


def test_a_seat_nothing_waits_for_is_given_back_unless_the_user_keeps_it(harness: UsersHarness) -> None:
    """A saga asked again after a lost decision can be granted its second reservation after the first
    was refused (the change is gone); a repair's can come after a deactivation."""
    keeper, inactive, unknown = (str(uuid4()) for _ in range(3))
    for user_id, name, on in ((keeper, "k@x.com", True), (inactive, "i@x.com", False)):
        profile = UserProfile(user_name=name, active=on)
        assert isinstance(harness.send(CreateUser(user_id=user_id, profile=profile)), UserReply)
    with Session(harness.seats_engine) as session, session.begin():
        seats_store.lock_tenant(session, tenant="acme")
        for user_id in (inactive, unknown):
            seats_store.take_seat(session, tenant="acme", user_id=user_id)  # taken by a late reservation
    for user_id in (keeper, inactive, unknown):
        late = harness.envelope(SeatReserved(user_id=user_id, used=3, limit=10))
        harness.seat_listener.process(RawRecord(SEATS_EVENTS, 0, next(_offsets), b"acme", late.to_bytes()))
    harness.pump()
    assert _holders(harness) == {keeper}


def test_a_repair_waits_for_a_change_waiting_for_its_seat(harness: UsersHarness) -> None:
    request = harness.envelope(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="p@x.com")))
    harness.deliver(request, pump=False)
    harness.deliver(harness.envelope(ReconcileSeat(user_id=str(request.payload["user_id"]))), pump=False)
    assert len(_unsent(harness, "users", SEATS_COMMANDS)) == 1  # the saga's ReserveSeat only


def test_whole_tenant_queries_answer_in_keyset_pages(harness: UsersHarness) -> None:
    ids = sorted(str(uuid4()) for _ in range(5))
    for index, user_id in enumerate(ids):
        harness.send(CreateUser(user_id=user_id, profile=UserProfile(user_name=f"u{index}@x.com")))
    first = harness.ask(ListActiveUserIds(limit=2))
    assert isinstance(first, UserIds) and first.user_ids == tuple(ids[:2])
    last = harness.ask(ListActiveUserIds(after=ids[3], limit=2))
    assert isinstance(last, UserIds) and last.user_ids == (ids[4],) and last.in_flight == ()
    envelope = harness.envelope(ListSeatHolders(after=ids[1], limit=2))
    harness.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), b"acme", envelope.to_bytes()))
    [reply] = [
        e for e in _unsent(harness, "seats", "test.replies") if e.correlation_id == envelope.correlation_id
    ]
    holders = payload_of(reply)
    assert isinstance(holders, SeatHolders) and holders.user_ids == tuple(ids[2:4])
