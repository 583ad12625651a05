"""Users handlers through the real message processor, on SQLite and on PostgreSQL."""

from __future__ import annotations

from uuid import uuid4

from sqlmodel import Session, func, select

from contracts.envelope import Envelope
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.topics import USERS_EVENTS
from contracts.users import (
    ContactValue,
    CreateUser,
    EnterpriseInfo,
    GetUser,
    ListUsers,
    UserCreated,
    UserPage,
    UserProfile,
    UserReply,
)
from servicekit.messaging import InboxEntry
from services.users.store import UserRow
from services.users.tests.conftest import UsersHarness


def _create(harness: UsersHarness, user_name: str, *, tenant: str = "acme") -> CreateUser:
    profile = UserProfile(
        user_name=user_name,
        emails=(ContactValue(value=user_name, type="work", primary=True),),
        enterprise=EnterpriseInfo(department="Sales", manager_ref="boss@example.com"),
    )
    return CreateUser(user_id=str(uuid4()), profile=profile)


def _users(harness: UsersHarness) -> list[UserRow]:
    with Session(harness.engine) as session:
        return list(session.exec(select(UserRow)))


def test_create_stores_the_user_and_emits_event_and_reply(harness: UsersHarness) -> None:
    command = _create(harness, "Ann@Example.com")
    reply = harness.send(command)
    assert isinstance(reply, UserReply)
    assert reply.user.id == command.user_id
    assert reply.user.profile == command.profile
    [row] = _users(harness)
    assert (row.id, row.user_name, row.user_name_key) == (
        command.user_id,
        "Ann@Example.com",
        "ann@example.com",
    )
    assert row.profile["enterprise"]["manager_ref"] == "boss@example.com"
    events = [Envelope.from_bytes(r.value) for r in harness.outbox() if r.topic == USERS_EVENTS]
    assert [e.type for e in events] == [UserCreated.type_name()]
    assert [r.key for r in harness.outbox() if r.topic == USERS_EVENTS] == [
        f"acme:{command.user_id}".encode()
    ]


def test_the_same_command_delivered_twice_changes_nothing_and_emits_nothing_twice(
    harness: UsersHarness,
) -> None:
    envelope = harness.envelope(_create(harness, "bob@example.com"))
    harness.deliver(envelope)
    before = harness.outbox()
    harness.deliver(envelope)
    assert len(_users(harness)) == 1
    assert [r.id for r in harness.outbox()] == [r.id for r in before]
    with Session(harness.engine) as session:
        recorded = select(func.count()).select_from(InboxEntry).where(InboxEntry.message_type == "CreateUser")
        assert session.exec(recorded).one() == 1


def test_duplicate_user_name_in_other_case_is_rejected_and_nothing_changes(harness: UsersHarness) -> None:
    harness.send(_create(harness, "carol@example.com"))
    outbox_before = len(harness.outbox())
    reply = harness.send(_create(harness, "CAROL@EXAMPLE.COM"))
    assert isinstance(reply, CommandRejected)
    assert reply.reason == RejectionReason.USER_NAME_TAKEN
    assert "carol@example.com".upper() in reply.detail
    assert len(_users(harness)) == 1
    assert len(harness.outbox()) == outbox_before + 1  # the rejection reply only, no event


def test_a_user_name_a_filter_cannot_tell_from_a_taken_one_is_taken_too(harness: UsersHarness) -> None:
    """ "J\u030cohn" lower-cases to "j\u030cohn", which NFC composes to "\u01f0ohn": ``userName eq``
    matches both spellings, so only one user may hold them."""
    harness.send(_create(harness, "J\u030cohn@example.com"))
    outbox_before = len(harness.outbox())
    reply = harness.send(_create(harness, "\u01f0ohn@example.com"))
    assert isinstance(reply, CommandRejected) and reply.reason == RejectionReason.USER_NAME_TAKEN
    assert [(row.user_name, row.user_name_key) for row in _users(harness)] == [
        ("J\u030cohn@example.com", "\u01f0ohn@example.com")
    ]
    assert len(harness.outbox()) == outbox_before + 1  # the rejection reply only, no event


def test_same_user_name_in_another_tenant_is_allowed(harness: UsersHarness) -> None:
    harness.send(_create(harness, "dan@example.com"), tenant="acme")
    reply = harness.send(_create(harness, "dan@example.com"), tenant="globex")
    assert isinstance(reply, UserReply)
    assert len(_users(harness)) == 2


def test_get_finds_only_the_tenants_own_user(harness: UsersHarness) -> None:
    command = _create(harness, "erin@example.com")
    harness.send(command, tenant="acme")
    assert isinstance(harness.send(GetUser(user_id=command.user_id), tenant="acme"), UserReply)
    other = harness.send(GetUser(user_id=command.user_id), tenant="globex")
    assert isinstance(other, CommandRejected) and other.reason == RejectionReason.NOT_FOUND


def test_list_filters_user_name_case_insensitively(harness: UsersHarness) -> None:
    harness.send(_create(harness, "Frank@Example.com"))
    harness.send(_create(harness, "grace@example.com"))
    page = harness.send(ListUsers(filter='userName eq "FRANK@example.COM"'))
    assert isinstance(page, UserPage)
    assert page.total_results == 1
    assert [u.profile.user_name for u in page.users] == ["Frank@Example.com"]
    empty = harness.send(ListUsers(filter='userName eq "nobody@example.com"'))
    assert isinstance(empty, UserPage) and (empty.total_results, empty.users) == (0, ())


def test_paging_is_stable_and_count_zero_gives_the_total_only(harness: UsersHarness) -> None:
    names = [f"user{i}@example.com" for i in range(7)]
    for name in names:
        harness.send(_create(harness, name))
    seen: list[str] = []
    for start in (1, 4, 7):
        page = harness.send(ListUsers(start_index=start, count=3))
        assert isinstance(page, UserPage) and page.total_results == 7
        seen += [u.profile.user_name for u in page.users]
    assert seen == names
    totals = harness.send(ListUsers(count=0))
    assert isinstance(totals, UserPage) and (totals.total_results, totals.users) == (7, ())


def test_invalid_or_unsupported_filters_are_rejected_not_empty(harness: UsersHarness) -> None:
    harness.send(_create(harness, "hank@example.com"))
    for text in ("userName eq", 'nickname.foo eq "x"', 'favouriteColour eq "x"', "ims pr", 'name eq "x"'):
        reply = harness.send(ListUsers(filter=text))
        assert isinstance(reply, CommandRejected), text
        assert reply.reason == RejectionReason.INVALID_FILTER, text
        assert reply.detail


def test_filter_operators_and_logic_on_user_name_and_external_id(harness: UsersHarness) -> None:
    for name, external in (("ivy@a.com", "X1"), ("jack@b.com", "x2"), ("iris_1@a.com", None)):
        command = _create(harness, name)
        profile = command.profile.model_copy(update={"external_id": external})
        harness.send(command.model_copy(update={"profile": profile}))

    def names(text: str) -> list[str]:
        page = harness.send(ListUsers(filter=text))
        assert isinstance(page, UserPage), text
        return sorted(u.profile.user_name for u in page.users)

    assert names('userName sw "I"') == ["iris_1@a.com", "ivy@a.com"]
    assert names('userName co "_"') == ["iris_1@a.com"]  # LIKE wildcards are escaped
    assert names('userName ew "@A.COM" and not (externalId pr)') == ["iris_1@a.com"]
    assert names('externalId eq "x1"') == []  # externalId is caseExact
    assert names('externalId eq "X1" or userName eq "JACK@b.com"') == ["ivy@a.com", "jack@b.com"]
