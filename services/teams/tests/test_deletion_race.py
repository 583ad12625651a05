"""A user deleted while a membership add of theirs is in flight (two instances on PostgreSQL): the
add and the deletion never overlap, so the deleted user never stays in the team."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session

from contracts.teams import TeamMembersChanged
from contracts.users import UserDeleted
from services.teams import membership, store
from services.teams.tests.conftest import TeamsHarness
from services.teams.tests.group_helpers import add, members, push, team_row


def test_a_deletion_waits_for_an_add_in_flight_and_then_removes_the_user(teams: TeamsHarness) -> None:
    if teams.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two cannot overlap")
    team = push(teams, "Sales")
    # An add of a user the teams service has not heard of yet (no replica row to lock), left open.
    with Session(teams.engine) as adding, adding.begin():
        row = store.lock_team(adding, tenant="acme", team_id=team.id)
        assert row is not None
        added, removed = membership.delta(adding, row=row, changes=[add("newcomer")])
        membership.apply(adding, row=row, added=added, removed=removed)
        with ThreadPoolExecutor(max_workers=1) as pool:
            deletion = pool.submit(teams.user_event, UserDeleted(user_id="newcomer"), user_id="newcomer")
            time.sleep(0.5)
            assert not deletion.done()  # it waits for the add to commit …
            adding.commit()
            deletion.result(timeout=10)  # … and then sees it
    assert members(teams, team.id) == set()


def test_a_deletion_racing_a_removal_counts_the_member_once(teams: TeamsHarness) -> None:
    if teams.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two cannot overlap")
    team = push(teams, "Sales", "leaver", "stayer")
    with Session(teams.engine) as removing, removing.begin():
        row = store.lock_team(removing, tenant="acme", team_id=team.id)
        assert row is not None
        assert store.remove_members(removing, row=row, user_ids=["leaver"]) == 1
        with ThreadPoolExecutor(max_workers=1) as pool:
            # It finds the membership (committed), then waits for the team row held here.
            deletion = pool.submit(teams.user_event, UserDeleted(user_id="leaver"), user_id="leaver")
            time.sleep(0.5)
            removing.commit()
            deletion.result(timeout=10)
    assert members(teams, team.id) == {"stayer"}
    assert team_row(teams, team.id).member_count == 1
    assert not [e for e in teams.events() if isinstance(e, TeamMembersChanged) and e.removed == ("leaver",)]
