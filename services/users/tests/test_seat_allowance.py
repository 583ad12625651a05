"""The seat allowance (docs/architecture.md §4): the users and seats handlers on their own real
databases, with the messages between them delivered one at a time in any order Kafka allows — each
topic's tenant partition in order, the two topics interleaved at will."""

from __future__ import annotations

from itertools import count
from uuid import UUID, uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, func, select

from contracts.envelope import Envelope, Message, wrap
from contracts.registry import payload_of
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.seats import RecallSeatAllowance, SeatReserved, SeatUsage, SetSeatLimit
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS
from contracts.users import CreateUser, ReplaceUser, UserProfile, UserReply
from servicekit.messaging import InboxEntry, OutboxEntry
from servicekit.records import RawRecord
from services.seats.store import Seat, SeatLimit
from services.users.allowance import unspent
from services.users.pending import PendingChange
from services.users.store import UserRow
from services.users.tests.conftest import REPLY_TOPIC, UsersHarness, take_unsent

_offsets = count(1_000_000)
_tenants = count()


def _allowing(harness: UsersHarness) -> UsersHarness:
    return UsersHarness(harness.engine, harness.seats_engine, allowance_block=50)


def _create(name: str, *, active: bool = True) -> CreateUser:
    return CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name=name, active=active))


def _carry_one(harness: UsersHarness, topic: str, tenant: str, faults: _Faults | None = None) -> bool:
    """Deliver the oldest message of ``tenant`` waiting on ``topic`` (its partition, in order), unless
    ``faults`` dead-letters it."""
    taken = _take_one(harness, topic, tenant)
    if taken is None:
        return False
    if faults is None or not faults.dead_letters(taken):
        _deliver(harness, taken)
    return True


_Record = tuple[str, bytes | None, bytes]  # topic, key, value


def _take_one(harness: UsersHarness, topic: str, tenant: str) -> _Record | None:
    source = harness.engine if topic == SEATS_COMMANDS else harness.seats_engine
    taken = take_unsent(source, topic, key=tenant.encode(), limit=1)
    return (topic, *taken[0]) if taken else None


def _deliver(harness: UsersHarness, record: _Record) -> None:
    topic, key, value = record
    processor = harness.seats if topic == SEATS_COMMANDS else harness.seat_listener
    processor.process(RawRecord(topic, 0, next(_offsets), key, value))


def _held(harness: UsersHarness, tenant: str) -> tuple[set[str], int]:
    with Session(harness.seats_engine) as session:
        holders = set(session.exec(select(Seat.user_id).where(Seat.tenant == tenant)).all())
        row = session.get(SeatLimit, tenant)
        assert len(holders) == (0 if row is None else row.used)  # the count kept is the rows'
        return holders, 0 if row is None else row.allowance


def _active(harness: UsersHarness, tenant: str) -> set[str]:
    with Session(harness.engine) as session:
        rows = session.exec(select(UserRow).where(UserRow.tenant == tenant)).all()
        return {row.id for row in rows if row.active and row.deleted_at is None}


def _waiting(harness: UsersHarness, tenant: str) -> int:
    with Session(harness.engine) as session:
        query = select(func.count()).select_from(PendingChange).where(PendingChange.tenant == tenant)
        return session.exec(query).one()


def _unspent(harness: UsersHarness, tenant: str) -> int:
    with Session(harness.engine) as session:
        return unspent(session, tenant=tenant)


def test_a_create_on_the_allowance_is_answered_without_waiting_for_the_seats_service(
    harness: UsersHarness,
) -> None:
    allowing = _allowing(harness)
    allowing.set_seat_limit(100)
    assert isinstance(allowing.send(_create("first@example.com")), UserReply)  # asks; 49 set aside
    assert _unspent(allowing, "acme") == 49
    second = allowing.envelope(_create("second@example.com"))
    allowing.deliver(second, pump=False)  # the seats service hears nothing until later
    assert isinstance(allowing.reply_to(second), UserReply)
    assert _waiting(allowing, "acme") == 0 and _unspent(allowing, "acme") == 48
    allowing.pump()
    assert _held(allowing, "acme") == (_active(allowing, "acme"), 48)


def test_an_allowance_arriving_before_a_refusal_is_spent_instead_of_refusing(harness: UsersHarness) -> None:
    allowing = _allowing(harness)
    allowing.set_seat_limit(4)
    creates = [allowing.envelope(_create(f"u{i}@example.com")) for i in range(5)]
    for envelope in creates[:4]:
        allowing.deliver(envelope, pump=False)  # all four ask before any allowance exists
    allowing.pump()  # 3 reserved (1 set aside with the first), the 4th refused: the allowance pays
    assert all(isinstance(allowing.reply_to(envelope), UserReply) for envelope in creates[:4])
    allowing.deliver(creates[4])
    refusal = allowing.reply_to(creates[4])
    assert isinstance(refusal, CommandRejected) and refusal.reason == RejectionReason.SEAT_LIMIT_REACHED
    assert refusal.detail.startswith("Seat limit reached: 4 of 4 seats in use.")
    assert _held(allowing, "acme") == (_active(allowing, "acme"), 0) and len(_active(allowing, "acme")) == 4


def test_a_lower_limit_is_confirmed_after_the_allowance_came_back(harness: UsersHarness) -> None:
    allowing = _allowing(harness)
    allowing.set_seat_limit(10)
    allowing.send(_create("first@example.com"))  # 4 set aside
    lowering = allowing.envelope(SetSeatLimit(limit=2))
    allowing.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), b"acme", lowering.to_bytes()))
    assert _confirmation(allowing, lowering) is None  # the users service still holds 4
    allowing.pump()
    assert _confirmation(allowing, lowering) == SeatUsage(limit=2, used=1)
    assert _unspent(allowing, "acme") == 0 and _held(allowing, "acme")[1] == 0
    assert isinstance(allowing.send(_create("second@example.com")), UserReply)
    refusal = allowing.send(_create("third@example.com"))
    assert isinstance(refusal, CommandRejected) and refusal.reason == RejectionReason.SEAT_LIMIT_REACHED


def _confirmation(harness: UsersHarness, request: Envelope) -> Message | None:
    key = str(request.correlation_id).encode()
    with Session(harness.seats_engine) as session:
        rows = session.exec(
            select(OutboxEntry).where(OutboxEntry.topic == REPLY_TOPIC, OutboxEntry.key == key)
        )
        replies = [payload_of(Envelope.from_bytes(row.value)) for row in rows]
    assert len(replies) <= 1
    return replies[0] if replies else None


_STEP = st.sampled_from(
    ["create", "create", "create", "deactivate", "reactivate", "seats", "seats", "users", "users", "settle"]
)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(limit=st.integers(1, 12), steps=st.lists(_STEP | st.integers(0, 12), max_size=60))
def test_seats_stay_exact_however_the_messages_interleave(
    harness: UsersHarness, limit: int, steps: list[str | int]
) -> None:
    """Never more active users than the limit allows, at any point: the last confirmed limit (or the
    users already active when it was confirmed: a lower limit deprovisions nobody), or a limit set
    since and not yet confirmed. Once quiet, every change is confirmed, the seats held are exactly
    the active users and both services agree on what is set aside. (A number among the steps: the
    limit changed to it.)"""
    allowing, tenant = _allowing(harness), f"t{next(_tenants)}"
    limits = _Limits(allowing, tenant, _change_limit(allowing, tenant, limit))
    users: dict[str, str] = {}  # id → userName, of users created
    for step in steps:
        if isinstance(step, int):
            limits.change(_change_limit(allowing, tenant, step))
        else:
            _step(allowing, tenant, step, users)
        limits.check()
    while _carry_one(allowing, SEATS_COMMANDS, tenant) | _carry_one(allowing, SEATS_EVENTS, tenant):
        limits.check()
    assert _waiting(allowing, tenant) == 0 and limits.all_confirmed()
    assert _held(allowing, tenant) == (_active(allowing, tenant), _unspent(allowing, tenant))


class _Limits:
    """The limit changes sent, and what the active users may number while they are confirmed."""

    def __init__(self, harness: UsersHarness, tenant: str, first: Envelope) -> None:
        self.harness, self.tenant = harness, tenant
        self.waiting: list[tuple[Envelope, int]] = []
        self.confirmed_bound = 0
        self.change(first)
        self.check()

    def change(self, request: Envelope) -> None:
        message = payload_of(request)
        assert isinstance(message, SetSeatLimit)
        self.waiting.append((request, message.limit))

    def check(self) -> None:
        active = len(_active(self.harness, self.tenant))
        while self.waiting and _confirmation(self.harness, self.waiting[0][0]) is not None:
            _, confirmed = self.waiting.pop(0)  # answered in the order sent
            self.confirmed_bound = max(confirmed, active)
        bound = max([self.confirmed_bound, *(limit for _, limit in self.waiting)])
        assert active <= bound
        held, set_aside = _held(self.harness, self.tenant)
        assert set_aside == 0 or len(held) + set_aside <= bound  # what is set aside fits the limit

    def all_confirmed(self) -> bool:
        self.check()
        return not self.waiting


# The allowance's messages an operator may find dead-lettered; all but a spent seat's report may be
# discarded for good (that one is the only record of a user's seat: it is replayed, however late).
_SET_ASIDE = {"SeatAllowanceGranted", "SeatAllowanceRecalled", "ReturnSeatAllowance", "TakeAllowedSeat"}
_DISCARDABLE = _SET_ASIDE - {"TakeAllowedSeat"}
_FAULTY_STEP = _STEP | st.sampled_from(["lose-seats", "lose-users", "replay", "discard", "repair"])


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(limit=st.integers(1, 12), steps=st.lists(_FAULTY_STEP | st.integers(0, 12), min_size=20, max_size=60))
def test_seats_stay_exact_when_allowance_messages_are_set_aside_then_replayed_or_discarded(
    harness: UsersHarness, limit: int, steps: list[str | int]
) -> None:
    """As above, with the allowance's messages dead-lettered on the way, then replayed at any later
    point or discarded, and repairs (``reconcile --repair``'s recall) at any point: still never more
    active users than the limit allows, the users service never holds a seat the seats service does
    not count as set aside, and once quiet and repaired, both agree on what is set aside."""
    allowing, tenant = _allowing(harness), f"t{next(_tenants)}"
    limits = _Limits(allowing, tenant, _change_limit(allowing, tenant, limit))
    users: dict[str, str] = {}
    faults = _Faults()
    for step in steps:
        if isinstance(step, int):
            limits.change(_change_limit(allowing, tenant, step))
        elif not faults.step(allowing, tenant, step):
            _step(allowing, tenant, step, users, faults)
        limits.check()
        assert _unspent(allowing, tenant) <= _held(allowing, tenant)[1]
    for record in faults.dead:  # whatever is still set aside is replayed in the end
        _deliver(allowing, record)
    _repair_allowance(allowing, tenant)
    _step(allowing, tenant, "settle", users)
    assert _waiting(allowing, tenant) == 0 and limits.all_confirmed()
    # a discarded grant's seats are set aside no more: the two services agree again
    assert _held(allowing, tenant) == (_active(allowing, tenant), _unspent(allowing, tenant))


class _Faults:
    """Dead letters among the allowance's messages: a "lose-…" step arms its topic, and the next
    allowance message taken from it is set aside; "replay" and "discard" then decide the oldest one
    set aside, "repair" is ``reconcile --repair``'s recall."""

    def __init__(self) -> None:
        self.armed: set[str] = set()
        self.dead: list[_Record] = []

    def dead_letters(self, record: _Record) -> bool:
        topic, _, value = record
        if topic not in self.armed or Envelope.from_bytes(value).type not in _SET_ASIDE:
            return False
        self.armed.discard(topic)
        self.dead.append(record)
        return True

    def step(self, harness: UsersHarness, tenant: str, step: str) -> bool:
        """Play a fault step; False for the other steps."""
        if step in ("lose-seats", "lose-users"):
            self.armed.add(SEATS_EVENTS if step == "lose-seats" else SEATS_COMMANDS)
        elif step in ("replay", "discard") and self.dead:
            record = self.dead.pop(0)
            if step == "replay" or Envelope.from_bytes(record[2]).type not in _DISCARDABLE:
                _deliver(harness, record)
        elif step == "repair":
            _repair_allowance(harness, tenant)
        return step in ("lose-seats", "lose-users", "replay", "discard", "repair")


def _repair_allowance(harness: UsersHarness, tenant: str) -> None:
    """The recall ``roster-admin seats reconcile --repair`` sends when the allowance is out of step."""
    envelope = harness.envelope(RecallSeatAllowance(), tenant=tenant)
    harness.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), tenant.encode(), envelope.to_bytes()))


def _change_limit(harness: UsersHarness, tenant: str, limit: int) -> Envelope:
    envelope = harness.envelope(SetSeatLimit(limit=limit), tenant=tenant)
    harness.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), tenant.encode(), envelope.to_bytes()))
    return envelope


def _step(
    harness: UsersHarness, tenant: str, step: str, users: dict[str, str], faults: _Faults | None = None
) -> None:
    if step == "settle":  # everything on its way arrives
        while _carry_one(harness, SEATS_COMMANDS, tenant, faults) | _carry_one(
            harness, SEATS_EVENTS, tenant, faults
        ):
            pass
    elif step == "seats":
        _carry_one(harness, SEATS_EVENTS, tenant, faults)
    elif step == "users":
        _carry_one(harness, SEATS_COMMANDS, tenant, faults)
    elif step == "create":
        envelope = harness.envelope(_create(f"{uuid4()}@example.com"), tenant=tenant)
        harness.deliver(envelope, pump=False)
        reply = harness.reply_to(envelope) if _answered(harness, envelope) else None
        if isinstance(reply, UserReply):
            users[reply.user.id] = reply.user.profile.user_name
    elif users:
        _switch(harness, tenant, users, active=step == "reactivate")


def _answered(harness: UsersHarness, envelope: Envelope) -> bool:
    key = str(envelope.correlation_id).encode()
    return any(row.topic == REPLY_TOPIC and row.key == key for row in harness.outbox())


def _switch(harness: UsersHarness, tenant: str, users: dict[str, str], *, active: bool) -> None:
    """Deactivate or reactivate one of them (refused while a change of theirs waits: fine)."""
    user_id = sorted(users)[len(users) // 2]
    command = ReplaceUser(user_id=user_id, profile=UserProfile(user_name=users[user_id], active=active))
    harness.deliver(harness.envelope(command, tenant=tenant), pump=False)


def _inbox_ids(harness: UsersHarness) -> set[UUID]:
    with Session(harness.engine) as session:
        return set(session.exec(select(InboxEntry.message_id)).all())


def _seat_reserved_for(harness: UsersHarness, user_id: str) -> Envelope:
    with Session(harness.seats_engine) as session:
        rows = session.exec(select(OutboxEntry).where(OutboxEntry.topic == SEATS_EVENTS)).all()
    [found] = [
        envelope
        for envelope in (Envelope.from_bytes(row.value) for row in rows)
        if envelope.type == SeatReserved.type_name() and envelope.payload["user_id"] == user_id
    ]
    return found


def test_an_allowed_seats_reservation_is_acknowledged_without_a_transaction(harness: UsersHarness) -> None:
    """Nothing waits for it, nor can later (seating.nothing_waits): no inbox row, nothing changed."""
    allowing = _allowing(harness)
    allowing.set_seat_limit(100)
    asked = allowing.send(_create("first@example.com"))  # waits for its seat, which finishes it
    allowed = allowing.send(_create("second@example.com"))  # on the allowance
    assert isinstance(asked, UserReply) and isinstance(allowed, UserReply)
    inbox = _inbox_ids(allowing)
    assert _seat_reserved_for(allowing, asked.user.id).message_id in inbox
    assert _seat_reserved_for(allowing, allowed.user.id).message_id not in inbox
    assert _active(allowing, "acme") == {asked.user.id, allowed.user.id}
    assert _held(allowing, "acme") == (_active(allowing, "acme"), 48) and _unspent(allowing, "acme") == 48


def test_an_allowed_seat_taken_after_its_users_release_is_given_back(harness: UsersHarness) -> None:
    """A TakeAllowedSeat dead-lettered and replayed after the deactivation's ReleaseSeat takes a seat for
    a user who is no longer active: its SeatReserved is not needless, and the seat is given back."""
    allowing = _allowing(harness)
    allowing.set_seat_limit(100)
    assert isinstance(allowing.send(_create("first@example.com")), UserReply)  # the grant arrives with it
    create = _create("second@example.com")
    allowing.deliver(allowing.envelope(create), pump=False)  # on the allowance; TakeAllowedSeat unsent
    _switch(allowing, "acme", {create.user_id: create.profile.user_name}, active=False)
    take, release = take_unsent(allowing.engine, SEATS_COMMANDS)
    sent = [Envelope.from_bytes(value).type for _, value in (take, release)]
    assert sent == ["TakeAllowedSeat", "ReleaseSeat"]
    for key, value in (release, take):  # the take replayed after the release
        allowing.seats.process(RawRecord(SEATS_COMMANDS, 0, next(_offsets), key, value))
    allowing.pump()
    assert create.user_id not in _active(allowing, "acme")
    assert _held(allowing, "acme") == (_active(allowing, "acme"), 48) and _unspent(allowing, "acme") == 48


def test_a_reservation_for_a_change_waiting_in_another_conversation_finishes_nothing(
    harness: UsersHarness,
) -> None:
    """The read that finds nothing waiting in the decision's own conversation is the handler's own rule:
    a repair's SeatReserved neither finishes a waiting create nor leaves an inbox row."""
    create = harness.envelope(_create("waiting@example.com"))
    harness.deliver(create, pump=False)  # parked: its ReserveSeat is not delivered
    user_id = CreateUser.model_validate(create.payload).user_id
    stray = wrap(SeatReserved(user_id=user_id, used=1, limit=100), tenant="acme", producer="seats")
    harness.seat_listener.process(RawRecord(SEATS_EVENTS, 0, next(_offsets), b"acme", stray.to_bytes()))
    assert _waiting(harness, "acme") == 1 and stray.message_id not in _inbox_ids(harness)
    harness.pump()  # its own decision still finishes it
    assert isinstance(harness.reply_to(create), UserReply) and _waiting(harness, "acme") == 0


def test_a_grant_discarded_on_the_way_is_freed_by_a_repair_and_ignored_if_replayed(
    harness: UsersHarness,
) -> None:
    """The allowance out of step for good: a grant dead-lettered and discarded. A repair's recall
    counts it free again; the same grant replayed afterwards is ignored, never spent."""
    allowing = _allowing(harness)
    allowing.set_seat_limit(20)
    first = allowing.envelope(_create("first@example.com"))
    allowing.deliver(first, pump=False)
    faults = _Faults()
    faults.step(allowing, "acme", "lose-seats")
    _carry_one(allowing, SEATS_COMMANDS, "acme")  # its ReserveSeat: a seat, and 9 set aside…
    while not faults.dead:  # …whose grant is dead-lettered
        assert _carry_one(allowing, SEATS_EVENTS, "acme", faults)
    allowing.pump()
    assert isinstance(allowing.reply_to(first), UserReply)
    assert isinstance(allowing.send(_create("second@example.com")), UserReply)  # asks again: 4 more
    assert (_held(allowing, "acme")[1], _unspent(allowing, "acme")) == (13, 4)
    _repair_allowance(allowing, "acme")
    allowing.pump()
    assert _held(allowing, "acme") == (_active(allowing, "acme"), 0) and _unspent(allowing, "acme") == 0
    [grant] = faults.dead
    _deliver(allowing, grant)  # replayed after the repair
    assert _unspent(allowing, "acme") == 0
    assert isinstance(allowing.send(_create("third@example.com")), UserReply)
    assert _held(allowing, "acme") == (_active(allowing, "acme"), _unspent(allowing, "acme"))
    assert len(_active(allowing, "acme")) == 3
