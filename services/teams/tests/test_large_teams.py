"""Teams of any size are read in pages: GetTeam and ListTeams leave out the members of a team larger
than one page, and ListTeamMembers pages them by keyset, on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from contracts.listing import IDS_PER_PAGE
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.teams import (
    CreatePortalTeam,
    GetTeam,
    ListTeamMembers,
    ListTeams,
    TeamMembers,
    TeamPage,
    TeamReply,
    TeamSource,
)
from contracts.users import UserCreated, UserProfile, UserRecord
from services.teams import domain, store
from services.teams.tests.conftest import TeamsHarness


def _seed_team(teams: TeamsHarness, team_id: str, size: int) -> list[str]:
    """A SCIM team with ``size`` members, written through the store in one transaction."""
    members = [f"user-{index:06d}" for index in range(size)]
    with Session(teams.engine) as session, session.begin():
        row = store.add_team(
            session,
            tenant="acme",
            team_id=team_id,
            display_name=team_id,
            name_key=domain.name_key(team_id),
            source=TeamSource.SCIM,
            now=datetime.now(UTC),
            linked=True,
        )
        store.add_members(session, row=row, user_ids=members)
    return members


def _members(teams: TeamsHarness, team_id: str, *, after: str | None, limit: int) -> list[str]:
    reply = teams.send(ListTeamMembers(team_id=team_id, after=after, limit=limit))
    assert isinstance(reply, TeamMembers)
    return [member.user_id for member in reply.members]


def test_members_are_paged_by_keyset_with_their_user_names(teams: TeamsHarness) -> None:
    members = _seed_team(teams, "sales", 5)
    now = datetime.now(UTC)
    profile = UserProfile(user_name="ann@x.com")
    user = UserRecord(id=members[1], profile=profile, created=now, last_modified=now, version=1)
    teams.user_event(UserCreated(user=user), user_id=members[1])
    assert _members(teams, "sales", after=None, limit=2) == members[:2]
    assert _members(teams, "sales", after=members[1], limit=2) == members[2:4]
    assert _members(teams, "sales", after=members[3], limit=2) == members[4:]
    assert _members(teams, "sales", after=members[4], limit=2) == []
    reply = teams.send(ListTeamMembers(team_id="sales", limit=2))
    assert isinstance(reply, TeamMembers) and [m.display for m in reply.members] == [None, "ann@x.com"]


def test_a_team_larger_than_a_page_comes_without_its_members(teams: TeamsHarness) -> None:
    big = _seed_team(teams, "everyone", IDS_PER_PAGE + 1)
    small = teams.send(CreatePortalTeam(team_id="small", display_name="Small", member_ids=("a", "b")))
    assert isinstance(small, TeamReply)
    reply = teams.send(GetTeam(team_id="everyone"))
    assert isinstance(reply, TeamReply)
    assert reply.team.members is None and reply.team.member_count == IDS_PER_PAGE + 1
    page = teams.send(ListTeams())
    assert isinstance(page, TeamPage)
    assert [(t.id, t.members is None) for t in page.teams] == [("everyone", True), ("small", False)]
    assert _members(teams, "everyone", after=None, limit=IDS_PER_PAGE) == big[:IDS_PER_PAGE]
    assert _members(teams, "everyone", after=big[IDS_PER_PAGE - 1], limit=IDS_PER_PAGE) == big[IDS_PER_PAGE:]


@pytest.mark.parametrize("any_source", [False, True])
def test_members_of_a_team_that_is_not_there_are_not_found(teams: TeamsHarness, any_source: bool) -> None:
    reply = teams.send(ListTeamMembers(team_id="nowhere", any_source=any_source))
    assert isinstance(reply, CommandRejected) and reply.reason == RejectionReason.NOT_FOUND
