"""Portal (admin) team commands: one-way sync refusals leave everything as it was."""

from __future__ import annotations

import pytest

from contracts.rejections import RejectionReason
from contracts.replies import Deleted
from contracts.sources import ChangeSource
from contracts.teams import (
    ChangePortalTeamMembers,
    CreatePortalTeam,
    DeletePortalTeam,
    ListTeams,
    PushGroup,
    ReleaseTeam,
    RenamePortalTeam,
    TeamCreated,
    TeamDeleted,
    TeamMembersChanged,
    TeamPage,
    TeamRenamed,
    TeamReply,
    TeamSource,
    TeamUnlinked,
)
from services.teams import domain
from services.teams.tests.conftest import TeamsHarness
from services.teams.tests.group_helpers import (
    known_user,
    manager_team,
    members,
    new_id,
    portal_team,
    push,
    rejected,
    snapshot,
    team_row,
)


def test_create_makes_an_unlinked_portal_team(teams: TeamsHarness) -> None:
    team = portal_team(teams, "Sales West", "u1")
    assert (team.source, team.linked, team.member_count) == (TeamSource.PORTAL, False, 1)
    created, changed = teams.events()
    assert isinstance(created, TeamCreated)
    assert (created.team_source, created.source) == (TeamSource.PORTAL, ChangeSource.PORTAL)
    assert isinstance(changed, TeamMembersChanged) and changed.source == ChangeSource.PORTAL


def test_duplicate_names_among_unlinked_portal_teams_are_allowed(teams: TeamsHarness) -> None:
    portal_team(teams, "Sales")
    portal_team(teams, "SALES")
    assert len(teams.events()) == 2


def test_a_name_a_linked_team_holds_is_refused(teams: TeamsHarness) -> None:
    linked = push(teams, "Sales West")
    other = portal_team(teams, "Marketing")
    before = snapshot(teams)
    reply = teams.send(CreatePortalTeam(team_id=new_id(), display_name="sales west"))
    assert linked.id in rejected(reply, RejectionReason.TEAM_NAME_CLASH)
    reply = teams.send(RenamePortalTeam(team_id=other.id, display_name="SALES WEST"))
    rejected(reply, RejectionReason.TEAM_NAME_CLASH)
    assert snapshot(teams) == before


def test_rename_change_members_and_delete(teams: TeamsHarness) -> None:
    known_user(teams, "gone", deleted=True)
    team = portal_team(teams, "Sales", "u1", "u2")
    reply = teams.send(RenamePortalTeam(team_id=team.id, display_name="Sales East"))
    assert isinstance(reply, TeamReply) and reply.team.display_name == "Sales East"
    renamed = teams.events()[-1]
    assert isinstance(renamed, TeamRenamed) and renamed.source == ChangeSource.PORTAL
    reply = teams.send(
        ChangePortalTeamMembers(team_id=team.id, add=("u3", "u1", "gone"), remove=("u2", "u9"))
    )
    assert isinstance(reply, TeamReply) and reply.team.member_count == 2
    assert members(teams, team.id) == {"u1", "u3"}
    changed = teams.events()[-1]
    assert isinstance(changed, TeamMembersChanged)
    assert (changed.added, changed.removed, changed.source) == (("u3",), ("u2",), ChangeSource.PORTAL)
    reply = teams.send(DeletePortalTeam(team_id=team.id))
    assert isinstance(reply, Deleted) and reply.resource_id == team.id
    deleted = teams.events()[-1]
    assert isinstance(deleted, TeamDeleted) and deleted.source == ChangeSource.PORTAL


def test_renaming_to_the_same_name_changes_nothing(teams: TeamsHarness) -> None:
    team = portal_team(teams, "Sales")
    before = snapshot(teams)
    reply = teams.send(RenamePortalTeam(team_id=team.id, display_name="Sales"))
    assert isinstance(reply, TeamReply) and reply.team.version == team.version
    assert snapshot(teams) == before


def test_adding_and_removing_the_same_user_is_refused(teams: TeamsHarness) -> None:
    team = portal_team(teams, "Sales", "u1")
    before = snapshot(teams)
    reply = teams.send(ChangePortalTeamMembers(team_id=team.id, add=("u1", "u2"), remove=("u2",)))
    assert "u2" in rejected(reply, RejectionReason.INVALID_VALUE)
    assert snapshot(teams) == before


def test_teams_the_identity_provider_manages_are_read_only(teams: TeamsHarness) -> None:
    scim = push(teams, "Sales West", "u1")
    linked = portal_team(teams, "Marketing", "u1")
    push(teams, "MARKETING")  # links it
    assert team_row(teams, linked.id).linked
    before = snapshot(teams)
    for team in (scim, linked):
        commands = [
            RenamePortalTeam(team_id=team.id, display_name="Other"),
            ChangePortalTeamMembers(team_id=team.id, add=("u2",)),
            DeletePortalTeam(team_id=team.id),
        ]
        for command in commands:
            detail = rejected(teams.send(command), RejectionReason.MANAGED_ELSEWHERE)
            assert detail == (
                f'Team "{team.display_name}" is managed in your identity provider (SCIM): change it there.'
            )
    assert snapshot(teams) == before


def test_manager_teams_are_read_only(teams: TeamsHarness) -> None:
    manager_team(teams)
    before = snapshot(teams)
    for command in (
        RenamePortalTeam(team_id="mgr", display_name="Other"),
        ChangePortalTeamMembers(team_id="mgr", remove=("bob",)),
        DeletePortalTeam(team_id="mgr"),
    ):
        detail = rejected(teams.send(command), RejectionReason.MANAGED_ELSEWHERE)
        assert "manager relation" in detail and "identity provider" in detail
    assert snapshot(teams) == before
    reply = teams.send(ListTeams(source=TeamSource.MANAGER))
    assert isinstance(reply, TeamPage) and [t.id for t in reply.teams] == ["mgr"]


def test_unknown_teams_are_not_found(teams: TeamsHarness) -> None:
    for command in (
        RenamePortalTeam(team_id="nope", display_name="X"),
        ChangePortalTeamMembers(team_id="nope", add=("u1",)),
        DeletePortalTeam(team_id="nope"),
    ):
        rejected(teams.send(command), RejectionReason.NOT_FOUND)


def test_list_teams_by_source_with_members(teams: TeamsHarness) -> None:
    scim = push(teams, "A", "u2", "u1")
    portal = portal_team(teams, "B", "u3")
    reply = teams.send(ListTeams())
    assert isinstance(reply, TeamPage) and [t.id for t in reply.teams] == [scim.id, portal.id]
    assert [m.user_id for m in reply.teams[0].members or ()] == ["u1", "u2"]
    reply = teams.send(ListTeams(source=TeamSource.PORTAL, include_members=False))
    assert isinstance(reply, TeamPage) and [(t.id, t.members) for t in reply.teams] == [(portal.id, None)]


def test_a_team_the_idp_stopped_managing_can_be_released_to_the_portal(teams: TeamsHarness) -> None:
    pushed = push(teams, "Sales West", "u1")
    reply = teams.send(ReleaseTeam(team_id=pushed.id))
    assert isinstance(reply, TeamReply)
    assert (reply.team.source, reply.team.linked, reply.team.version) == (TeamSource.PORTAL, False, 2)
    assert [(e.team_id, e.source) for e in teams.events() if isinstance(e, TeamUnlinked)] == [
        (pushed.id, ChangeSource.PORTAL)
    ]
    renamed = teams.send(RenamePortalTeam(team_id=pushed.id, display_name="Sales West (old)"))
    assert isinstance(renamed, TeamReply) and renamed.team.display_name == "Sales West (old)"
    assert members(teams, pushed.id) == {"u1"}
    # Okta pushing a group of its name later links it again (docs/architecture.md §4 "Groups → teams").
    relinked = teams.send(PushGroup(team_id=new_id(), display_name="sales west (OLD)"))
    assert isinstance(relinked, TeamReply) and relinked.team.id == pushed.id and relinked.team.linked


def test_only_teams_the_idp_manages_can_be_released(teams: TeamsHarness) -> None:
    portal = portal_team(teams, "Marketing")
    manager_team(teams)
    before = snapshot(teams)
    detail = rejected(teams.send(ReleaseTeam(team_id=portal.id)), RejectionReason.INVALID_VALUE)
    assert "not managed by an identity provider" in detail
    assert "manager relation" in rejected(
        teams.send(ReleaseTeam(team_id="mgr")), RejectionReason.MANAGED_ELSEWHERE
    )
    rejected(teams.send(ReleaseTeam(team_id="nope")), RejectionReason.NOT_FOUND)
    assert snapshot(teams) == before


def test_the_admin_listing_pages_in_creation_order_and_cuts_pages_short(
    teams: TeamsHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = portal_team(teams, "A", "u1", "u2")
    second = portal_team(teams, "B", "u3")
    third = portal_team(teams, "C")

    def page(**paging: int) -> tuple[int, list[str]]:
        reply = teams.send(ListTeams(source=TeamSource.PORTAL, **paging))
        assert isinstance(reply, TeamPage)
        return reply.total_results, [team.id for team in reply.teams]

    assert page() == (3, [first.id, second.id, third.id])
    assert page(start_index=2, count=1) == (3, [second.id])
    monkeypatch.setattr(domain, "MAX_REPLY_MEMBERS", 2)  # A's two members fill a reply
    assert page() == (3, [first.id])
    assert page(start_index=2) == (3, [second.id, third.id])
