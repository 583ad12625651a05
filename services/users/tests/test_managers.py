"""Manager resolution and the default manager, through the real handlers and seat saga, on SQLite
and PostgreSQL: stored state, replies and emitted events."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

from sqlmodel import Session, delete, select

from contracts.envelope import Envelope, Message
from contracts.registry import payload_of
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected, Deleted
from contracts.sources import ChangeSource
from contracts.topics import USERS_EVENTS
from contracts.users import (
    ContactValue,
    CreateUser,
    DefaultManager,
    DefaultManagerChanged,
    DeleteUser,
    EnterpriseInfo,
    FindUserIds,
    GetDefaultManager,
    GetUser,
    ListUsers,
    ManagerVia,
    ReplaceUser,
    RosterRole,
    SetDefaultManager,
    UserCreated,
    UserIds,
    UserManagerChanged,
    UserPage,
    UserProfile,
    UserRecord,
    UserReply,
    UserUpdated,
)
from services.users.backfills import link_managers
from services.users.manager_store import ManagerDefaultsRow, UserManagerRow
from services.users.tests.conftest import UsersHarness

RULE, SCIM, PORTAL = ChangeSource.MANAGER_RULE, ChangeSource.SCIM, ChangeSource.PORTAL
REF, DEFAULT, NONE = ManagerVia.REFERENCE, ManagerVia.DEFAULT, ManagerVia.NONE


def profile(
    name: str,
    *,
    ref: str | None = None,
    role: RosterRole | None = None,
    employee_number: str | None = None,
    external_id: str | None = None,
    email: str | None = None,
    active: bool = True,
    roles: tuple[ContactValue, ...] = (),
) -> UserProfile:
    enterprise = EnterpriseInfo(employee_number=employee_number, manager_ref=ref)
    emails = (ContactValue(value=email, type="work", primary=True),) if email else ()
    return UserProfile(
        user_name=name,
        external_id=external_id,
        emails=emails,
        enterprise=enterprise,
        roster_role=role,
        roles=roles,
        active=active,
    )


def create(harness: UsersHarness, name: str, *, tenant: str = "acme", **fields: Any) -> UserRecord:
    reply = harness.send(CreateUser(user_id=str(uuid4()), profile=profile(name, **fields)), tenant=tenant)
    assert isinstance(reply, UserReply), reply
    return reply.user


def replace(harness: UsersHarness, user: UserRecord, **changes: object) -> UserRecord:
    wanted = user.profile.model_copy(update=changes)
    reply = harness.send(ReplaceUser(user_id=user.id, profile=wanted, expected_version=user.version))
    assert isinstance(reply, UserReply), reply
    return reply.user


def links(harness: UsersHarness) -> dict[str, tuple[str | None, ManagerVia]]:
    with Session(harness.engine) as session:
        rows = session.exec(select(UserManagerRow))
        return {row.user_id: (row.manager_id, ManagerVia(row.via)) for row in rows}


def events(harness: UsersHarness) -> list[tuple[bytes | None, Message]]:
    return [
        (row.key, payload_of(Envelope.from_bytes(row.value)))
        for row in harness.outbox()
        if row.topic == USERS_EVENTS
    ]


def manager_changes(
    harness: UsersHarness, *, since: int = 0
) -> list[tuple[str, str | None, str | None, ManagerVia, ChangeSource]]:
    found = []
    for key, event in events(harness)[since:]:
        if isinstance(event, UserManagerChanged):
            assert key == f"acme:{event.user_id}".encode()
            found.append(
                (event.user_id, event.manager_id, event.previous_manager_id, event.via, event.source)
            )
    return found


def read(harness: UsersHarness, user: UserRecord) -> UserRecord:
    reply = harness.send(GetUser(user_id=user.id))
    assert isinstance(reply, UserReply), reply
    return reply.user


def default_manager(harness: UsersHarness) -> DefaultManager:
    reply = harness.send(GetDefaultManager())
    assert isinstance(reply, DefaultManager), reply
    return reply


def rejected(reply: object, reason: RejectionReason) -> str:
    assert isinstance(reply, CommandRejected), reply
    assert reply.reason == reason
    return reply.detail


def test_reports_created_before_their_manager_get_the_default_then_are_relinked(
    harness: UsersHarness,
) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    by_number = create(harness, "r1@x.com", ref="E-42")
    by_email = create(harness, "r2@x.com", ref="Boss@X.COM")
    assert (by_number.manager_id, by_email.manager_id) == (coach.id, coach.id)
    assert (by_number.manager_via, by_email.manager_via) == (DEFAULT, DEFAULT)
    created = [event.user for _, event in events(harness) if isinstance(event, UserCreated)]
    assert [user.manager_id for user in created] == [None, coach.id, coach.id]
    assert manager_changes(harness) == [
        (by_number.id, coach.id, None, DEFAULT, SCIM),
        (by_email.id, coach.id, None, DEFAULT, SCIM),
    ]
    before = len(events(harness))

    boss = create(harness, "boss-login", employee_number="e-42", email="boss@x.com")

    assert links(harness)[by_number.id] == (boss.id, REF)
    assert links(harness)[by_email.id] == (boss.id, REF)
    assert boss.manager_id == coach.id  # the boss has no manager of their own: the default
    assert sorted(manager_changes(harness, since=before)) == sorted(
        [
            (boss.id, coach.id, None, DEFAULT, SCIM),
            (by_number.id, boss.id, coach.id, REF, RULE),
            (by_email.id, boss.id, coach.id, REF, RULE),
        ]
    )
    relinked = read(harness, by_number)
    assert (relinked.manager_id, relinked.manager_via, relinked.version) == (boss.id, REF, 1)  # same ETag
    page = harness.send(ListUsers(filter='userName eq "r2@x.com"'))
    assert isinstance(page, UserPage) and [(u.manager_id, u.manager_via) for u in page.users] == [
        (boss.id, REF)
    ]


def test_a_relinked_user_can_still_be_replaced_at_the_version_the_idp_read(harness: UsersHarness) -> None:
    report = create(harness, "report@x.com", ref="late@x.com")
    create(harness, "late@x.com")
    updated = replace(harness, report, title="Rep")  # If-Match with the version read before the re-link
    assert (updated.version, updated.manager_id) == (2, links(harness)[report.id][0])
    [last] = [event for _, event in events(harness) if isinstance(event, UserUpdated)]
    assert last.user.manager_id == updated.manager_id and updated.manager_id is not None


def test_no_default_while_no_coach_exists_then_the_first_coach_becomes_it(harness: UsersHarness) -> None:
    plain = create(harness, "plain@x.com")
    waiting = create(harness, "waiting@x.com", ref="ghost@x.com")
    assert links(harness) == {plain.id: (None, NONE), waiting.id: (None, NONE)}
    assert manager_changes(harness) == []
    assert default_manager(harness) == DefaultManager(chosen_id=None, first_coach_id=None, effective_id=None)

    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    assert links(harness) == {
        plain.id: (coach.id, DEFAULT),
        waiting.id: (coach.id, DEFAULT),
        coach.id: (None, NONE),
    }
    assert sorted(manager_changes(harness)) == sorted(
        [(plain.id, coach.id, None, DEFAULT, RULE), (waiting.id, coach.id, None, DEFAULT, RULE)]
    )
    before = len(events(harness))

    second = create(harness, "second@x.com", role=RosterRole.COACH)
    assert second.manager_id == coach.id
    assert links(harness)[plain.id] == (coach.id, DEFAULT)
    assert manager_changes(harness, since=before) == [(second.id, coach.id, None, DEFAULT, SCIM)]
    assert default_manager(harness) == DefaultManager(
        chosen_id=None, first_coach_id=coach.id, effective_id=coach.id
    )


def test_a_user_promoted_to_coach_later_becomes_the_first_coach(harness: UsersHarness) -> None:
    learner = create(harness, "learner@x.com")
    other = create(harness, "other@x.com")
    replace(harness, learner, roster_role=RosterRole.COACH)
    assert links(harness)[other.id] == (learner.id, DEFAULT)
    assert default_manager(harness).first_coach_id == learner.id


def test_set_default_manager_refuses_a_coach_and_accepts_a_manager(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    learner = create(harness, "learner@x.com")
    boss = create(harness, "ann@x.com", role=RosterRole.MANAGER)
    state, count = links(harness), len(events(harness))

    detail = rejected(harness.send(SetDefaultManager(user_id=coach.id)), RejectionReason.INVALID_VALUE)
    assert detail.startswith(
        f'User "{coach.id}" (coach@x.com) has role coach; the default manager must have role'
    )
    rejected(harness.send(SetDefaultManager(user_id=str(uuid4()))), RejectionReason.NOT_FOUND)
    stranger = create(harness, "stranger@x.com", tenant="globex", role=RosterRole.ADMIN)
    rejected(harness.send(SetDefaultManager(user_id=stranger.id)), RejectionReason.NOT_FOUND)
    assert links(harness) == {**state, stranger.id: (None, NONE)}
    assert [type(event) for _, event in events(harness)[count:]] == [UserCreated]  # the stranger's
    assert default_manager(harness).chosen_id is None
    before = len(events(harness))

    envelope = harness.envelope(SetDefaultManager(user_id=boss.id))
    harness.deliver(envelope)
    assert harness.reply_to(envelope) == DefaultManager(
        chosen_id=boss.id, first_coach_id=coach.id, effective_id=boss.id
    )
    assert links(harness)[learner.id] == (boss.id, DEFAULT)
    assert links(harness)[coach.id] == (boss.id, DEFAULT)
    assert links(harness)[boss.id] == (None, NONE)
    announced = [
        (key, event) for key, event in events(harness)[before:] if isinstance(event, DefaultManagerChanged)
    ]
    assert announced == [
        (b"acme", DefaultManagerChanged(chosen_id=boss.id, effective_id=boss.id, source=PORTAL))
    ]
    assert sorted(manager_changes(harness, since=before)) == sorted(
        [
            (coach.id, boss.id, None, DEFAULT, PORTAL),
            (learner.id, boss.id, coach.id, DEFAULT, PORTAL),
            (boss.id, None, coach.id, NONE, PORTAL),
        ]
    )
    outbox = [row.id for row in harness.outbox()]
    harness.deliver(envelope)  # redelivered: nothing new
    assert [row.id for row in harness.outbox()] == outbox

    harness.send(SetDefaultManager(user_id=None))
    assert default_manager(harness) == DefaultManager(
        chosen_id=None, first_coach_id=coach.id, effective_id=coach.id
    )
    assert links(harness)[learner.id] == (coach.id, DEFAULT)


def test_deactivated_manager_reports_fall_back_and_return_when_reactivated(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    boss = create(harness, "boss@x.com")
    report = create(harness, "report@x.com", ref="BOSS@x.com")
    assert links(harness)[report.id] == (boss.id, REF)
    before = len(events(harness))

    off = replace(harness, boss, active=False)
    assert links(harness)[report.id] == (coach.id, DEFAULT)
    assert manager_changes(harness, since=before) == [(report.id, coach.id, boss.id, DEFAULT, RULE)]
    assert read(harness, report).version == 1
    before = len(events(harness))

    replace(harness, off, active=True)  # the seat saga finishes the reactivation
    assert links(harness)[report.id] == (boss.id, REF)
    assert manager_changes(harness, since=before) == [(report.id, boss.id, coach.id, REF, RULE)]


def test_a_deleted_manager_reports_fall_back_and_a_deleted_first_coach_makes_way(
    harness: UsersHarness,
) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    boss = create(harness, "boss@x.com", employee_number="7")
    report = create(harness, "report@x.com", ref="7")
    assert harness.send(DeleteUser(user_id=boss.id)) == Deleted(resource_id=boss.id)
    assert links(harness)[report.id] == (coach.id, DEFAULT)
    assert boss.id not in links(harness)

    harness.send(DeleteUser(user_id=coach.id))
    assert links(harness)[report.id] == (None, NONE)
    assert default_manager(harness) == DefaultManager(chosen_id=None, first_coach_id=None, effective_id=None)
    later = create(harness, "later@x.com", role=RosterRole.COACH)
    assert links(harness)[report.id] == (later.id, DEFAULT)


def test_deactivating_the_default_manager_moves_everyone_on_it(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    learner = create(harness, "learner@x.com")
    replace(harness, coach, active=False)
    assert links(harness)[learner.id] == (None, NONE)
    assert default_manager(harness).effective_id is None


def test_entra_bare_string_resolves_by_external_id_exactly(harness: UsersHarness) -> None:
    report = create(harness, "report@x.com", ref="8c1F-aa")  # Entra: the manager's object id
    wrong_case = create(harness, "wrong@x.com", ref="8C1F-AA")
    boss = create(harness, "boss@x.com", external_id="8c1F-aa")
    assert links(harness)[report.id] == (boss.id, REF)
    assert links(harness)[wrong_case.id] == (None, NONE)  # externalId is caseExact (RFC 7643 §3.1)


def test_identifier_priority_ties_by_creation_and_never_oneself(harness: UsersHarness) -> None:
    by_email = create(harness, "first@x.com", email="shared@x.com")
    create(harness, "second@x.com", email="shared@x.com")
    by_user_name = create(harness, "Shared@x.com")
    report = create(harness, "report@x.com", ref="shared@x.com")
    assert links(harness)[report.id] == (by_user_name.id, REF)
    replace(harness, by_user_name, user_name="renamed@x.com")
    assert links(harness)[report.id] == (by_email.id, REF)
    selfish = create(harness, "me@x.com", ref="me@x.com")
    assert links(harness)[selfish.id] == (None, NONE)


def test_a_reference_to_an_inactive_user_gives_the_default(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    create(harness, "gone@x.com", active=False)
    report = create(harness, "report@x.com", ref="gone@x.com")
    assert links(harness)[report.id] == (coach.id, DEFAULT)


def test_changing_ones_own_reference_is_announced_as_scim(harness: UsersHarness) -> None:
    boss = create(harness, "boss@x.com")
    report = create(harness, "report@x.com")
    before = len(events(harness))
    updated = replace(harness, report, enterprise=EnterpriseInfo(manager_ref=boss.id))
    assert updated.manager_id == boss.id
    assert manager_changes(harness, since=before) == [(report.id, boss.id, None, REF, SCIM)]


def test_find_user_ids_answers_live_users_of_the_tenant_in_order(harness: UsersHarness) -> None:
    ann, bob = create(harness, "ann@x.com"), create(harness, "bob@x.com")
    gone = create(harness, "gone@x.com")
    harness.send(DeleteUser(user_id=gone.id))
    stranger = create(harness, "stranger@x.com", tenant="globex")
    waiting = CreateUser(user_id=str(uuid4()), profile=profile("waiting@x.com"))
    harness.deliver(harness.envelope(waiting), pump=False)  # its create waits for a seat
    asked = (bob.id, "unknown", gone.id, ann.id, stranger.id, bob.id, waiting.user_id)
    reply = harness.send(FindUserIds(user_ids=asked))
    assert isinstance(reply, UserIds)
    assert (reply.user_ids, reply.in_flight) == ((bob.id, ann.id), (waiting.user_id,))


def test_find_user_ids_handles_ten_thousand_ids_quickly(harness: UsersHarness) -> None:
    ann = create(harness, "ann@x.com")
    asked = (*(str(uuid4()) for _ in range(10_000)), ann.id)
    started = time.monotonic()
    reply = harness.ask(FindUserIds(user_ids=asked))
    assert isinstance(reply, UserIds) and reply.user_ids == (ann.id,)
    assert time.monotonic() - started < 5


def test_backfill_resolves_users_written_before_manager_resolution(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    boss = create(harness, "boss@x.com")
    report = create(harness, "report@x.com", ref="boss@x.com")
    learner = create(harness, "learner@x.com")
    with Session(harness.engine) as session, session.begin():
        session.execute(delete(UserManagerRow))
        session.execute(delete(ManagerDefaultsRow))
    before = len(events(harness))
    assert link_managers(harness.engine) == 4
    assert links(harness) == {
        coach.id: (None, NONE),
        boss.id: (coach.id, DEFAULT),
        report.id: (boss.id, REF),
        learner.id: (coach.id, DEFAULT),
    }
    assert sorted(manager_changes(harness, since=before)) == sorted(
        [
            (boss.id, coach.id, None, DEFAULT, RULE),
            (report.id, boss.id, None, REF, RULE),
            (learner.id, coach.id, None, DEFAULT, RULE),
        ]
    )
    snapshots = [e for _, e in events(harness)[before:] if isinstance(e, UserUpdated)]
    assert {(e.user.id, e.user.manager_id) for e in snapshots} == {
        (coach.id, None),
        (boss.id, coach.id),
        (report.id, boss.id),
        (learner.id, coach.id),
    }
    assert link_managers(harness.engine) == 0
    assert default_manager(harness).first_coach_id == coach.id


def test_a_report_and_its_manager_created_at_once_never_miss_each_other(harness: UsersHarness) -> None:
    for round_ in range(6):
        boss = CreateUser(user_id=str(uuid4()), profile=profile(f"boss{round_}@x.com"))
        harness.deliver(harness.envelope(boss), pump=False)  # the boss is written when the seat arrives
        report = CreateUser(
            user_id=str(uuid4()), profile=profile(f"r{round_}@x.com", ref=f"boss{round_}@x.com", active=False)
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            done = [
                pool.submit(harness.pump),
                pool.submit(harness.deliver, harness.envelope(report), pump=False),
            ]
            for future in done:
                future.result()
        assert links(harness)[report.user_id] == (boss.user_id, REF)


def test_an_inactive_choice_takes_effect_when_the_user_is_reactivated(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    learner = create(harness, "learner@x.com")
    boss = create(harness, "boss@x.com", role=RosterRole.ADMIN, active=False)
    reply = harness.send(SetDefaultManager(user_id=boss.id))
    assert reply == DefaultManager(chosen_id=boss.id, first_coach_id=coach.id, effective_id=coach.id)
    assert links(harness)[learner.id] == (coach.id, DEFAULT)
    before = len(events(harness))
    replace(harness, boss, active=True)
    assert links(harness)[learner.id] == (boss.id, DEFAULT)
    assert (learner.id, boss.id, coach.id, DEFAULT, RULE) in manager_changes(harness, since=before)


def test_a_deleted_first_coach_makes_way_for_the_earliest_added_coach_left(harness: UsersHarness) -> None:
    first = create(harness, "first@x.com", role=RosterRole.COACH)
    not_coach = create(
        harness,
        "lead@x.com",
        roles=(ContactValue(value="coach"), ContactValue(value="manager", primary=True)),
    )
    by_scim_role = create(harness, "second@x.com", roles=(ContactValue(value="Coach"),))
    create(harness, "third@x.com", role=RosterRole.COACH)
    report = create(harness, "report@x.com")

    harness.send(DeleteUser(user_id=first.id))

    assert default_manager(harness).first_coach_id == by_scim_role.id  # not the manager, not the last
    assert links(harness)[report.id] == (by_scim_role.id, DEFAULT)
    assert links(harness)[not_coach.id] == (by_scim_role.id, DEFAULT)


def test_a_chosen_default_demoted_in_the_idp_stops_being_the_default(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    boss = create(harness, "boss@x.com", role=RosterRole.MANAGER)
    learner = create(harness, "learner@x.com")
    harness.send(SetDefaultManager(user_id=boss.id))
    assert links(harness)[learner.id] == (boss.id, DEFAULT)

    replace(harness, boss, roster_role=RosterRole.LEARNER)  # Okta changed the role

    assert default_manager(harness) == DefaultManager(
        chosen_id=boss.id, first_coach_id=coach.id, effective_id=coach.id
    )
    assert links(harness)[learner.id] == (coach.id, DEFAULT)
    moved = [e for _, e in events(harness) if isinstance(e, DefaultManagerChanged)]
    assert (moved[-1].effective_id, moved[-1].source) == (coach.id, RULE)
