"""Manager resolution, through the real handlers and seat saga, on SQLite and PostgreSQL: a report's
manager reference resolved by identifier, re-linked when its manager arrives, leaves, returns or is
replaced, and resolved by the backfill; FindUserIds. Stored state, replies and emitted events. The
default manager is in ``test_default_manager.py``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

from sqlmodel import Session, delete

from contracts.replies import Deleted
from contracts.users import (
    CreateUser,
    DefaultManager,
    DeleteUser,
    EnterpriseInfo,
    FindUserIds,
    GetUser,
    ListUsers,
    RosterRole,
    UserCreated,
    UserIds,
    UserPage,
    UserRecord,
    UserReply,
    UserUpdated,
)
from services.users.backfills import link_managers
from services.users.manager_store import ManagerDefaultsRow, UserManagerRow
from services.users.tests.conftest import UsersHarness
from services.users.tests.manager_helpers import (
    DEFAULT,
    NONE,
    REF,
    RULE,
    SCIM,
    create,
    default_manager,
    events,
    links,
    manager_changes,
    profile,
    replace,
)


def read(harness: UsersHarness, user: UserRecord) -> UserRecord:
    reply = harness.send(GetUser(user_id=user.id))
    assert isinstance(reply, UserReply), reply
    return reply.user


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
