"""The default manager, through the real handlers and seat saga, on SQLite and PostgreSQL: no default
while no coach exists, the first coach, a chosen default (SetDefaultManager) and what happens to it when
it is deactivated, deleted or demoted; stored state, replies and emitted events.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.users import (
    ContactValue,
    DefaultManager,
    DefaultManagerChanged,
    DeleteUser,
    RosterRole,
    SetDefaultManager,
    UserCreated,
)
from services.users.tests.conftest import UsersHarness
from services.users.tests.manager_helpers import (
    DEFAULT,
    NONE,
    PORTAL,
    RULE,
    SCIM,
    create,
    default_manager,
    events,
    links,
    manager_changes,
    replace,
)


def rejected(reply: object, reason: RejectionReason) -> str:
    assert isinstance(reply, CommandRejected), reply
    assert reply.reason == reason
    return reply.detail


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


def test_deactivating_the_default_manager_moves_everyone_on_it(harness: UsersHarness) -> None:
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    learner = create(harness, "learner@x.com")
    replace(harness, coach, active=False)
    assert links(harness)[learner.id] == (None, NONE)
    assert default_manager(harness).effective_id is None


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


@pytest.mark.parametrize("deactivated_first", [True, False])
def test_a_deleted_choice_is_forgotten_and_announced_once(
    harness: UsersHarness, deactivated_first: bool
) -> None:
    """Deactivated, a choice waits to count again; deleted, it never could (ids are never reused). One
    event, whether the deletion moves the default too (an active choice) or only forgets the choice."""
    coach = create(harness, "coach@x.com", role=RosterRole.COACH)
    learner = create(harness, "learner@x.com")
    boss = create(harness, "boss@x.com", role=RosterRole.MANAGER)
    harness.send(SetDefaultManager(user_id=boss.id))
    if deactivated_first:
        replace(harness, boss, active=False)
    assert default_manager(harness).chosen_id == boss.id
    before = len(events(harness))

    harness.send(DeleteUser(user_id=boss.id))

    assert default_manager(harness) == DefaultManager(
        chosen_id=None, first_coach_id=coach.id, effective_id=coach.id
    )
    assert links(harness)[learner.id] == (coach.id, DEFAULT)
    announced = [e for _, e in events(harness)[before:] if isinstance(e, DefaultManagerChanged)]
    assert announced == [DefaultManagerChanged(chosen_id=None, effective_id=coach.id, source=RULE)]


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
