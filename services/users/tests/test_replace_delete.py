"""ReplaceUser (PUT, and PATCH after the gateway applied it) and DeleteUser, on SQLite and PostgreSQL."""

from __future__ import annotations

from uuid import uuid4

from sqlmodel import Session, select

from contracts.envelope import Envelope
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected, Deleted
from contracts.topics import USERS_EVENTS
from contracts.users import (
    CreateUser,
    DeleteUser,
    GetUser,
    ListUsers,
    ReplaceUser,
    RosterRole,
    UserPage,
    UserProfile,
    UserReply,
)
from services.users.store import UserRow
from services.users.tests.conftest import UsersHarness


def _created(harness: UsersHarness, user_name: str) -> UserReply:
    reply = harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name=user_name)))
    assert isinstance(reply, UserReply)
    return reply


def _event_types(harness: UsersHarness) -> list[str]:
    return [Envelope.from_bytes(r.value).type for r in harness.outbox() if r.topic == USERS_EVENTS]


def _rejection(reply: object, reason: RejectionReason) -> CommandRejected:
    assert isinstance(reply, CommandRejected), reply
    assert reply.reason == reason
    assert reply.detail
    return reply


def test_replace_stores_the_new_profile_and_bumps_the_version(harness: UsersHarness) -> None:
    user = _created(harness, "ann@example.com").user
    profile = user.profile.model_copy(update={"title": "Coach", "roster_role": RosterRole.COACH})
    reply = harness.send(ReplaceUser(user_id=user.id, profile=profile, expected_version=1))
    assert isinstance(reply, UserReply)
    assert (reply.user.version, reply.user.profile.title, reply.user.created) == (2, "Coach", user.created)
    assert reply.user.last_modified >= user.last_modified
    stored = harness.send(GetUser(user_id=user.id))
    assert isinstance(stored, UserReply) and stored.user == reply.user
    # Ann is the tenant's first Coach, so she is now its default manager too.
    assert _event_types(harness) == ["UserCreated", "UserUpdated", "DefaultManagerChanged"]


def test_replacing_with_the_same_attributes_changes_nothing(harness: UsersHarness) -> None:
    user = _created(harness, "same@example.com").user
    reply = harness.send(ReplaceUser(user_id=user.id, profile=user.profile))
    assert isinstance(reply, UserReply) and reply.user == user
    assert _event_types(harness) == ["UserCreated"]


def test_deactivation_and_reactivation_keep_the_id_and_are_announced(harness: UsersHarness) -> None:
    user = _created(harness, "bob@example.com").user
    inactive = user.profile.model_copy(update={"active": False})
    off = harness.send(ReplaceUser(user_id=user.id, profile=inactive))
    assert isinstance(off, UserReply) and off.user.profile.active is False and off.user.id == user.id
    read = harness.send(GetUser(user_id=user.id))
    assert isinstance(read, UserReply) and read.user.profile.active is False
    on = harness.send(ReplaceUser(user_id=user.id, profile=user.profile))
    assert isinstance(on, UserReply) and on.user.profile.active is True
    assert _event_types(harness) == [
        "UserCreated",
        "UserUpdated",
        "UserDeactivated",
        "UserUpdated",
        "UserReactivated",
    ]


def test_a_stale_expected_version_is_refused_and_nothing_changes(harness: UsersHarness) -> None:
    user = _created(harness, "carol@example.com").user
    changed = user.profile.model_copy(update={"title": "x"})
    _rejection(
        harness.send(ReplaceUser(user_id=user.id, profile=changed, expected_version=7)),
        RejectionReason.VERSION_MISMATCH,
    )
    _rejection(
        harness.send(DeleteUser(user_id=user.id, expected_version=7)), RejectionReason.VERSION_MISMATCH
    )
    stored = harness.send(GetUser(user_id=user.id))
    assert isinstance(stored, UserReply) and stored.user == user


def test_replace_may_change_the_user_name_but_not_to_someone_elses(harness: UsersHarness) -> None:
    dan = _created(harness, "dan@example.com").user
    _created(harness, "erin@example.com")
    recased = harness.send(ReplaceUser(user_id=dan.id, profile=UserProfile(user_name="DAN@example.com")))
    assert isinstance(recased, UserReply) and recased.user.profile.user_name == "DAN@example.com"
    renamed = harness.send(ReplaceUser(user_id=dan.id, profile=UserProfile(user_name="daniel@example.com")))
    assert isinstance(renamed, UserReply)
    taken = harness.send(ReplaceUser(user_id=dan.id, profile=UserProfile(user_name="Erin@Example.com")))
    _rejection(taken, RejectionReason.USER_NAME_TAKEN)
    # the old name is free again
    assert isinstance(
        harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="dan@example.com"))),
        UserReply,
    )


def test_replace_never_creates(harness: UsersHarness) -> None:
    missing = harness.send(
        ReplaceUser(user_id=str(uuid4()), profile=UserProfile(user_name="ghost@example.com"))
    )
    _rejection(missing, RejectionReason.NOT_FOUND)
    with Session(harness.engine) as session:
        assert session.exec(select(UserRow)).all() == []


def test_blank_user_name_on_replace_is_invalid(harness: UsersHarness) -> None:
    user = _created(harness, "frank@example.com").user
    _rejection(
        harness.send(ReplaceUser(user_id=user.id, profile=UserProfile(user_name=" "))),
        RejectionReason.INVALID_VALUE,
    )


def test_delete_hides_the_user_frees_the_name_and_keeps_the_id_reserved(harness: UsersHarness) -> None:
    user = _created(harness, "gina@example.com").user
    reply = harness.send(DeleteUser(user_id=user.id, expected_version=1))
    assert reply == Deleted(resource_id=user.id)
    _rejection(harness.send(GetUser(user_id=user.id)), RejectionReason.NOT_FOUND)
    _rejection(harness.send(DeleteUser(user_id=user.id)), RejectionReason.NOT_FOUND)
    _rejection(harness.send(ReplaceUser(user_id=user.id, profile=user.profile)), RejectionReason.NOT_FOUND)
    page = harness.send(ListUsers())
    assert isinstance(page, UserPage) and page.total_results == 0
    again = harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="gina@example.com")))
    assert isinstance(again, UserReply) and again.user.id != user.id
    reused = harness.send(CreateUser(user_id=user.id, profile=UserProfile(user_name="new@example.com")))
    _rejection(reused, RejectionReason.INVALID_VALUE)  # an id is never handed out twice
    # The id is what is wrong, even with a name that is taken too: its refusal, not USER_NAME_TAKEN.
    reused_and_taken = harness.send(
        CreateUser(user_id=user.id, profile=UserProfile(user_name="gina@example.com"))
    )
    _rejection(reused_and_taken, RejectionReason.INVALID_VALUE)
    with Session(harness.engine) as session:
        row = session.exec(select(UserRow).where(UserRow.id == user.id)).one()
    assert row.deleted_at is not None and row.profile == {} and row.user_name_key is None
    assert _event_types(harness).count("UserDeleted") == 1
