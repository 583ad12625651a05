"""The seat saga: users handlers and the real seats handlers, each on its own real database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlmodel import Session, select

from contracts.envelope import Envelope, Message
from contracts.registry import payload_of
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected, Deleted
from contracts.seats import GetSeatUsage, SeatUsage
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, USERS_EVENTS
from contracts.users import (
    CreateUser,
    DeleteUser,
    GetUser,
    ListUsers,
    ReplaceUser,
    UserPage,
    UserProfile,
    UserReply,
)
from servicekit.messaging import OutboxEntry
from servicekit.records import RawRecord
from services.users.seating import ASK_AGAIN_AFTER, ask_again_for_lost_decisions
from services.users.store import UserRow
from services.users.tests.conftest import UsersHarness, take_unsent


def _create(harness: UsersHarness, name: str, *, active: bool = True) -> CreateUser:
    return CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name=name, active=active))


def _usage(harness: UsersHarness) -> tuple[int, int]:
    envelope = harness.envelope(GetSeatUsage())
    harness.seats.process(RawRecord(SEATS_COMMANDS, 0, 0, b"acme", envelope.to_bytes()))
    from sqlmodel import Session, select

    with Session(harness.seats_engine) as session:
        rows = session.exec(
            select(OutboxEntry).where(OutboxEntry.key == str(envelope.correlation_id).encode())
        ).all()
    [usage] = [payload_of(Envelope.from_bytes(row.value)) for row in rows]
    assert isinstance(usage, SeatUsage)
    return usage.used, usage.limit


def _refused(reply: object) -> CommandRejected:
    assert isinstance(reply, CommandRejected), reply
    return reply


def _events(harness: UsersHarness) -> list[str]:
    return [Envelope.from_bytes(r.value).type for r in harness.outbox() if r.topic == USERS_EVENTS]


def test_creates_stop_at_the_limit_and_the_refused_user_does_not_exist(harness: UsersHarness) -> None:
    harness.set_seat_limit(1)
    first = _create(harness, "first@example.com")
    assert isinstance(harness.send(first), UserReply)
    second = _create(harness, "second@example.com")
    refusal = _refused(harness.send(second))
    assert refusal.reason == RejectionReason.SEAT_LIMIT_REACHED
    assert refusal.detail.startswith("Seat limit reached: 1 of 1 seats in use. Deactivate a user in Okta")
    assert _refused(harness.send(GetUser(user_id=second.user_id))).reason == RejectionReason.NOT_FOUND
    page = harness.send(ListUsers())
    assert isinstance(page, UserPage) and [u.id for u in page.users] == [first.user_id]
    assert _usage(harness) == (1, 1)
    assert _events(harness) == ["UserCreated"]
    # the refused userName is free again
    harness.set_seat_limit(2)
    assert isinstance(harness.send(_create(harness, "second@example.com")), UserReply)


def test_an_inactive_user_holds_no_seat(harness: UsersHarness) -> None:
    harness.set_seat_limit(1)
    assert isinstance(harness.send(_create(harness, "parked@example.com", active=False)), UserReply)
    assert _usage(harness) == (0, 1)


def test_deactivation_and_deletion_release_and_reactivation_needs_a_seat(harness: UsersHarness) -> None:
    harness.set_seat_limit(1)
    first = harness.send(_create(harness, "a@example.com"))
    assert isinstance(first, UserReply)
    off = first.user.profile.model_copy(update={"active": False})
    assert isinstance(harness.send(ReplaceUser(user_id=first.user.id, profile=off)), UserReply)
    assert _usage(harness) == (0, 1)
    second = harness.send(_create(harness, "b@example.com"))
    assert isinstance(second, UserReply)
    refusal = _refused(harness.send(ReplaceUser(user_id=first.user.id, profile=first.user.profile)))
    assert refusal.reason == RejectionReason.SEAT_LIMIT_REACHED
    stored = harness.send(GetUser(user_id=first.user.id))
    assert isinstance(stored, UserReply) and stored.user.profile.active is False and stored.user.version == 2
    assert harness.send(DeleteUser(user_id=second.user.id)) == Deleted(resource_id=second.user.id)
    assert _usage(harness) == (0, 1)
    back = harness.send(ReplaceUser(user_id=first.user.id, profile=first.user.profile))
    assert isinstance(back, UserReply) and back.user.profile.active is True and back.user.id == first.user.id
    assert _usage(harness) == (1, 1)
    assert _events(harness).count("UserReactivated") == 1


def _while_seats_are_down(harness: UsersHarness, message: Message) -> Message:
    envelope = harness.envelope(message)
    harness.deliver(envelope, pump=False)
    return harness.reply_to(envelope)


def test_nothing_overtakes_a_change_waiting_for_a_seat(harness: UsersHarness) -> None:
    create = harness.envelope(_create(harness, "slow@example.com"))
    harness.deliver(create, pump=False)  # the seats service has not answered yet
    same_name = _refused(_while_seats_are_down(harness, _create(harness, "SLOW@example.com")))
    assert same_name.reason == RejectionReason.CHANGE_PENDING
    hidden = _refused(_while_seats_are_down(harness, GetUser(user_id=create.payload["user_id"])))
    assert hidden.reason == RejectionReason.NOT_FOUND
    harness.pump()  # the seats service is back
    assert isinstance(harness.reply_to(create), UserReply)
    user = harness.send(GetUser(user_id=create.payload["user_id"]))
    assert isinstance(user, UserReply)
    off = user.user.profile.model_copy(update={"active": False})
    harness.send(ReplaceUser(user_id=user.user.id, profile=off))
    reactivate = harness.envelope(ReplaceUser(user_id=user.user.id, profile=user.user.profile))
    harness.deliver(reactivate, pump=False)
    busy = _refused(_while_seats_are_down(harness, DeleteUser(user_id=user.user.id)))
    assert busy.reason == RejectionReason.CHANGE_PENDING
    harness.pump()
    assert isinstance(harness.reply_to(reactivate), UserReply)


def test_no_user_is_renamed_to_a_name_a_waiting_create_holds(harness: UsersHarness) -> None:
    harness.deliver(harness.envelope(_create(harness, "slow@example.com")), pump=False)  # waits for a seat
    other = _while_seats_are_down(harness, _create(harness, "other@example.com", active=False))
    assert isinstance(other, UserReply)  # inactive: no seat needed
    renamed = other.user.profile.model_copy(update={"user_name": "Slow@Example.com"})
    refused = _refused(_while_seats_are_down(harness, ReplaceUser(user_id=other.user.id, profile=renamed)))
    assert refused.reason == RejectionReason.CHANGE_PENDING
    unchanged = _while_seats_are_down(harness, GetUser(user_id=other.user.id))
    assert isinstance(unchanged, UserReply) and unchanged.user.profile.user_name == "other@example.com"


def test_a_seat_is_never_taken_twice_for_one_user(harness: UsersHarness) -> None:
    harness.set_seat_limit(5)
    create = harness.envelope(_create(harness, "once@example.com"))
    for _ in range(3):
        harness.deliver(create)  # redelivered command: the inbox drops the copies
    assert _usage(harness) == (1, 5)
    # The same reservation and the same grant again as new messages (a retry, a reconcile repair):
    # the inbox cannot recognise them, so the seats "already held" rule and the saga's "nothing
    # pending" rule must.
    [reserve] = [r for r in harness.outbox() if r.topic == SEATS_COMMANDS]
    again = Envelope.from_bytes(reserve.value).model_copy(update={"message_id": uuid4()})
    harness.seats.process(RawRecord(SEATS_COMMANDS, 0, 10**6, b"acme", again.to_bytes()))
    harness.pump()  # carries the second SeatReserved to the users service
    with Session(harness.seats_engine) as session:
        granted = session.exec(select(OutboxEntry).where(OutboxEntry.topic == SEATS_EVENTS)).all()
    assert [Envelope.from_bytes(row.value).type for row in granted].count("SeatReserved") == 2
    assert _usage(harness) == (1, 5)
    assert _events(harness) == ["UserCreated"]
    replies = [
        r
        for r in harness.outbox()
        if r.topic == "test.replies" and r.key == str(create.correlation_id).encode()
    ]
    assert len(replies) == 1


def test_two_instances_creating_one_user_name_at_once_never_both_get_it(harness: UsersHarness) -> None:
    """An inactive create (straight to the users table) racing an active one (parked for a seat)."""
    creates = [
        harness.envelope(_create(harness, "race@example.com", active=False)),
        harness.envelope(_create(harness, "RACE@example.com")),
    ]

    def deliver(envelope: Envelope) -> None:
        for _ in range(20):  # a conflict raises; the broker would redeliver
            try:
                harness.processor.process(
                    RawRecord("users.commands.v1", 0, hash(envelope.message_id), b"k", envelope.to_bytes())
                )
                return
            except Exception:
                continue

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(deliver, creates))
    harness.pump()
    replies = [harness.reply_to(envelope) for envelope in creates]
    assert sum(isinstance(reply, UserReply) for reply in replies) == 1, replies
    with Session(harness.engine) as session:
        assert (
            len(session.exec(select(UserRow).where(UserRow.user_name_key == "race@example.com")).all()) == 1
        )
    used, _ = _usage(harness)
    assert used == (1 if isinstance(replies[1], UserReply) else 0)


def _lose_seat_commands(harness: UsersHarness) -> int:
    """As if the ReserveSeat had been dead-lettered: it never reaches the seats service."""
    return len(take_unsent(harness.engine, SEATS_COMMANDS))


def _sweep(harness: UsersHarness, *, after: timedelta) -> int:
    with Session(harness.engine) as session, session.begin():
        return ask_again_for_lost_decisions(session, datetime.now(UTC) + after)


def test_a_lost_seat_decision_is_asked_for_again_and_the_create_completes(harness: UsersHarness) -> None:
    create = harness.envelope(_create(harness, "lost@example.com"))
    harness.deliver(create, pump=False)
    assert _lose_seat_commands(harness) == 1
    assert _sweep(harness, after=timedelta(seconds=1)) == 0  # too young: its answer may be on its way

    assert _sweep(harness, after=ASK_AGAIN_AFTER + timedelta(seconds=1)) == 1
    harness.pump()

    reply = harness.reply_to(create)  # the saga's own conversation: the original requester's reply
    assert isinstance(reply, UserReply) and reply.user.profile.user_name == "lost@example.com"
    assert _usage(harness)[0] == 1
    assert _sweep(harness, after=ASK_AGAIN_AFTER + timedelta(seconds=1)) == 0  # nothing waits any more
    assert _events(harness) == ["UserCreated"]


def test_asking_twice_never_takes_two_seats(harness: UsersHarness) -> None:
    create = harness.envelope(_create(harness, "twice@example.com"))
    harness.deliver(create, pump=False)  # the first ReserveSeat is only late, not lost
    assert _sweep(harness, after=ASK_AGAIN_AFTER + timedelta(seconds=1)) == 1
    harness.pump()
    assert isinstance(harness.reply_to(create), UserReply)
    assert _usage(harness)[0] == 1
