"""The manager rule on a real database: one team per manager with active direct reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event as event_api

from contracts.envelope import Message
from contracts.teams import TeamCreated, TeamDeleted, TeamMembersChanged, TeamRenamed
from contracts.users import UserCreated, UserDeactivated, UserDeleted, UserReactivated, UserUpdated
from services.teams.tests.conftest import TeamsHarness
from services.teams.tests.replica_helpers import manager_changed, manager_teams, record


def test_reports_of_one_manager_share_one_team_led_by_them(teams: TeamsHarness) -> None:
    teams.user_event(UserCreated(user=record("boss", name="Ada Boss")), user_id="boss")
    teams.user_event(UserCreated(user=record("r1", manager_id="boss")), user_id="r1")
    teams.user_event(UserCreated(user=record("r2", manager_id="boss")), user_id="r2")

    assert manager_teams(teams.engine) == {"boss": {"r1", "r2"}}
    created = [e for e in teams.events() if isinstance(e, TeamCreated)]
    assert [(e.display_name, e.leader_id, e.source.value) for e in created] == [
        ("Ada Boss's team", "boss", "manager_rule")
    ]


def test_a_report_moves_when_the_manager_changes_and_an_emptied_team_disappears(teams: TeamsHarness) -> None:
    for leader in ("m1", "m2"):
        teams.user_event(UserCreated(user=record(leader)), user_id=leader)
    teams.user_event(UserCreated(user=record("r", manager_id="m1")), user_id="r")
    teams.user_event(manager_changed("r", "m2", previous="m1"), user_id="r")

    assert manager_teams(teams.engine) == {"m2": {"r"}}
    deleted = [e for e in teams.events() if isinstance(e, TeamDeleted)]
    assert len(deleted) == 1


def test_deactivated_reports_leave_and_return_on_reactivation(teams: TeamsHarness) -> None:
    teams.user_event(UserCreated(user=record("r1", manager_id="boss")), user_id="r1")
    teams.user_event(UserCreated(user=record("r2", manager_id="boss")), user_id="r2")
    teams.user_event(UserDeactivated(user_id="r1"), user_id="r1")
    assert manager_teams(teams.engine) == {"boss": {"r2"}}

    teams.user_event(UserDeactivated(user_id="r2"), user_id="r2")
    assert manager_teams(teams.engine) == {}

    teams.user_event(UserReactivated(user_id="r1"), user_id="r1")
    assert manager_teams(teams.engine) == {"boss": {"r1"}}


def test_a_deleted_user_leaves_every_team_and_is_never_placed_again(teams: TeamsHarness) -> None:
    teams.user_event(UserCreated(user=record("r", manager_id="boss")), user_id="r")
    teams.user_event(UserDeleted(user_id="r"), user_id="r")
    late = teams.user_event(manager_changed("r", "boss"), user_id="r")
    teams.redeliver_event(late, user_id="r")

    assert manager_teams(teams.engine) == {}


def test_the_team_follows_its_managers_name(teams: TeamsHarness) -> None:
    teams.user_event(UserCreated(user=record("r", manager_id="boss")), user_id="r")
    teams.user_event(UserCreated(user=record("boss", name="Ada")), user_id="boss")
    teams.user_event(UserUpdated(user=record("boss", name="Ada Lovelace")), user_id="boss")

    renames = [(e.previous_name, e.display_name) for e in teams.events() if isinstance(e, TeamRenamed)]
    assert renames == [("Team of manager boss", "Ada's team"), ("Ada's team", "Ada Lovelace's team")]


def test_a_redelivered_event_changes_nothing(teams: TeamsHarness) -> None:
    event = teams.user_event(UserCreated(user=record("r", manager_id="boss")), user_id="r")
    before = len(teams.outbox())
    teams.redeliver_event(event, user_id="r")

    assert len(teams.outbox()) == before
    assert manager_teams(teams.engine) == {"boss": {"r"}}


def test_nobody_leads_a_team_of_themselves(teams: TeamsHarness) -> None:
    teams.user_event(UserCreated(user=record("coach", manager_id="coach")), user_id="coach")
    assert manager_teams(teams.engine) == {}
    assert not [e for e in teams.events() if isinstance(e, TeamMembersChanged)]


def _statements(teams: TeamsHarness, event: Message, user_id: str) -> list[str]:
    seen: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event_api.listen(teams.engine, "before_cursor_execute", capture)
    try:
        teams.user_event(event, user_id=user_id)
    finally:
        event_api.remove(teams.engine, "before_cursor_execute", capture)
    return seen


def test_a_user_heard_of_for_the_first_time_is_not_looked_for_in_teams(teams: TeamsHarness) -> None:
    """Nobody was placed before their first event, so no team_members join; leading no team, no
    team row is loaded or locked either."""
    first = _statements(teams, UserCreated(user=record("r1")), "r1")
    assert not [s for s in first if "team_members" in s], first
    assert not [s for s in first if s.startswith("SELECT teams.seq, teams.id")], first

    later = _statements(teams, UserUpdated(user=record("r1", name="Rae")), "r1")
    assert [s for s in later if "JOIN team_members" in s], later  # known now: where are they?
