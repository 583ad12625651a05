"""Poison and failing messages: dead-lettered after N attempts, the partition moves on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from contracts.envelope import Envelope
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.topics import USERS_COMMANDS, dead_letter_topic
from contracts.users import CreateUser, UserProfile, UserReply
from servicekit.messaging import InboxEntry, OutboxEntry, mark_published, purge_settled
from servicekit.records import HandlerMap, Outgoing, RawRecord
from services.users.store import UserRow
from services.users.tests.conftest import REPLY_TOPIC, UsersHarness

DLQ = dead_letter_topic(USERS_COMMANDS)


def test_undecodable_bytes_go_to_the_dead_letter_topic_at_once(harness: UsersHarness) -> None:
    harness.deliver_raw(b"\x00 not an envelope")
    [dead] = harness.outbox()
    assert (dead.topic, dead.value) == (DLQ, b"\x00 not an envelope")
    assert dead.headers["x-original-topic"] == USERS_COMMANDS
    assert "x-error" in dead.headers
    # the next message is handled normally
    reply = harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="ok@x.com")))
    assert isinstance(reply, UserReply)


def test_unknown_type_or_bad_payload_is_dead_lettered_and_the_sender_still_answered(
    harness: UsersHarness, caplog: pytest.LogCaptureFixture
) -> None:
    envelope = harness.envelope(CreateUser(user_id="u", profile=UserProfile(user_name="a")))
    unknown = envelope.model_copy(update={"type": "LaunchRocket"})
    bad_payload = harness.envelope(CreateUser(user_id="v", profile=UserProfile(user_name="b")))
    bad_payload = bad_payload.model_copy(update={"payload": {"user_id": "v"}})
    for message in (unknown, bad_payload):
        harness.deliver(message)
        refusal = harness.reply_to(message)
        assert isinstance(refusal, CommandRejected) and refusal.reason == RejectionReason.INTERNAL_ERROR
    assert sorted(r.topic for r in harness.outbox()) == sorted([DLQ, DLQ, REPLY_TOPIC, REPLY_TOPIC])
    assert _user_count(harness) == 0
    # The log names each by the message id `roster-admin dlq list` shows.
    assert f"dead-lettering LaunchRocket message {unknown.message_id} from {USERS_COMMANDS}[" in caplog.text
    assert f"dead-lettering CreateUser message {bad_payload.message_id} from " in caplog.text


def test_a_dead_letters_error_names_what_was_wrong_not_the_values(harness: UsersHarness) -> None:
    """The README promises the error holds no personal data; pydantic's own message quotes the input."""
    envelope = harness.envelope(CreateUser(user_id="v", profile=UserProfile(user_name="b")))
    private = {"user_id": "v", "profile": {"user_name": "jane.private@example.com", "active": "maybe"}}
    harness.deliver(envelope.model_copy(update={"payload": private}))
    harness.deliver_raw(b"\xff\xfe jane.private@example.com")
    errors = [r.headers["x-error"] for r in harness.outbox() if r.topic == DLQ]
    assert len(errors) == 2
    assert all("jane.private" not in error for error in errors), errors
    assert "profile.active: Input should be a valid boolean" in errors[0]


def test_a_tombstone_is_dead_lettered_not_stuck(harness: UsersHarness) -> None:
    harness.deliver_raw(b"")
    assert [(r.topic, r.value) for r in harness.outbox()] == [(DLQ, b"")]


def test_a_handler_that_keeps_failing_is_retried_then_dead_lettered(
    users_engine: Engine, seats_engine: Engine
) -> None:
    attempts: list[int] = []

    def explode(*_args: object) -> list[Outgoing]:
        attempts.append(1)
        raise RuntimeError("database on fire")

    harness = UsersHarness(users_engine, seats_engine, max_attempts=3)
    failing: HandlerMap = {CreateUser: explode}
    harness.processor._handlers = failing  # a fault injected into a real processor
    envelope = harness.envelope(CreateUser(user_id="u", profile=UserProfile(user_name="a")))
    for _ in range(2):  # attempts 1 and 2 raise, so the broker redelivers
        with pytest.raises(RuntimeError):
            harness.processor.process(_record(envelope))
    harness.processor.process(_record(envelope))  # attempt 3: dead-lettered, settled
    assert len(attempts) == 3
    topics = sorted(r.topic for r in harness.outbox())
    assert topics == sorted([DLQ, REPLY_TOPIC])
    refusal = harness.reply_to(envelope)
    assert isinstance(refusal, CommandRejected) and refusal.reason == RejectionReason.INTERNAL_ERROR
    harness.processor.process(_record(envelope))  # a redelivery after settling changes nothing
    assert len(attempts) == 3 and len(harness.outbox()) == 2


def _user_count(harness: UsersHarness) -> int:
    with Session(harness.engine) as session:
        return session.exec(select(func.count()).select_from(UserRow)).one()


def _record(envelope: Envelope) -> RawRecord:
    return RawRecord(USERS_COMMANDS, 0, 42, b"k", envelope.to_bytes())


def test_purge_forgets_settled_messages_but_never_unpublished_ones(harness: UsersHarness) -> None:
    harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="p1@x.com")))
    harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="p2@x.com")))
    with Session(harness.engine) as session, session.begin():
        unpublished = [row.id for row in harness.outbox() if row.published_at is None and row.id is not None]
        mark_published(session, ids=unpublished[:2])  # the rest stays waiting for the relay
        published = session.exec(
            select(func.count()).select_from(OutboxEntry).where(col(OutboxEntry.published_at).is_not(None))
        ).one()
        inbox = session.exec(select(func.count()).select_from(InboxEntry)).one()
    with Session(harness.engine) as session, session.begin():
        assert purge_settled(session, before=datetime.now(UTC) - timedelta(hours=1)) == 0
        assert purge_settled(session, before=datetime.now(UTC) + timedelta(seconds=1)) == published + inbox
    with Session(harness.engine) as session:
        assert session.exec(select(func.count()).select_from(InboxEntry)).one() == 0
        remaining = session.exec(select(OutboxEntry)).all()
    assert len(remaining) == len(unpublished) - 2 and all(row.published_at is None for row in remaining)
