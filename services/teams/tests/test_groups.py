"""SCIM Groups commands through the real message processor, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlmodel import Session

from contracts.rejections import RejectionReason
from contracts.replies import Deleted
from contracts.sources import ChangeSource
from contracts.teams import (
    DeleteGroup,
    GetTeam,
    PatchGroup,
    PushGroup,
    ReplaceGroup,
    TeamCreated,
    TeamDeleted,
    TeamLinked,
    TeamMembersChanged,
    TeamRenamed,
    TeamReply,
    TeamSource,
)
from services.teams import known_users, store
from services.teams.tests.conftest import TeamsHarness
from services.teams.tests.group_helpers import (
    add,
    known_user,
    manager_team,
    member_deltas,
    members,
    new_id,
    portal_team,
    push,
    rejected,
    remove,
    replace,
    seed_members,
    snapshot,
    team_row,
    team_rows,
)


def _patch(teams: TeamsHarness, team_id: str, *changes: object, **fields: object) -> TeamReply:
    reply = teams.send(PatchGroup(team_id=team_id, changes=changes, **fields))
    assert isinstance(reply, TeamReply), reply
    return reply


def test_push_creates_a_linked_scim_team_with_its_members(teams: TeamsHarness) -> None:
    command = PushGroup(
        team_id=new_id(), display_name="Sales West", external_id="okta-1", member_ids=("u1", "u2")
    )
    reply = teams.send(command)
    assert isinstance(reply, TeamReply)
    assert (reply.team.id, reply.team.source, reply.team.linked) == (command.team_id, TeamSource.SCIM, True)
    assert [m.user_id for m in reply.team.members or ()] == ["u1", "u2"]
    row = team_row(teams, command.team_id)
    assert (row.display_name, row.name_key, row.external_id, row.member_count) == (
        "Sales West",
        "sales west",
        "okta-1",
        2,
    )
    created, changed = teams.events()
    assert isinstance(created, TeamCreated) and created.team_source == TeamSource.SCIM
    assert created.source == ChangeSource.SCIM
    assert isinstance(changed, TeamMembersChanged) and set(changed.added) == {"u1", "u2"}


def test_push_with_a_blank_name_or_member_id_is_refused_and_nothing_changes(teams: TeamsHarness) -> None:
    before = snapshot(teams)
    rejected(teams.send(PushGroup(team_id=new_id(), display_name="  ")), RejectionReason.INVALID_VALUE)
    rejected(
        teams.send(PushGroup(team_id=new_id(), display_name="A", member_ids=("",))),
        RejectionReason.INVALID_VALUE,
    )
    assert snapshot(teams) == before


def test_push_never_reuses_an_id(teams: TeamsHarness) -> None:
    team = push(teams, "Old")
    assert isinstance(teams.send(DeleteGroup(team_id=team.id)), Deleted)
    before = snapshot(teams)
    detail = rejected(
        teams.send(PushGroup(team_id=team.id, display_name="New")), RejectionReason.INVALID_VALUE
    )
    assert team.id in detail
    assert snapshot(teams) == before


def test_push_links_the_unlinked_portal_team_of_that_name_whatever_its_case(teams: TeamsHarness) -> None:
    portal = portal_team(teams, "Sales West", "u1", "u2")
    before = len(teams.events())
    reply = teams.send(
        PushGroup(team_id=new_id(), display_name="SALES WEST", external_id="okta-9", member_ids=("u2", "u3"))
    )
    assert isinstance(reply, TeamReply)
    assert reply.team.id == portal.id
    assert (reply.team.linked, reply.team.source, reply.team.external_id) == (
        True,
        TeamSource.PORTAL,
        "okta-9",
    )
    assert reply.team.version == portal.version + 1
    assert members(teams, portal.id) == {"u1", "u2", "u3"}
    assert team_row(teams, portal.id).member_count == 3
    assert len(team_rows(teams)) == 1
    linked, changed = teams.events()[before:]
    assert isinstance(linked, TeamLinked) and linked.team_id == portal.id and linked.external_id == "okta-9"
    assert isinstance(changed, TeamMembersChanged) and (changed.added, changed.removed) == (("u3",), ())


def test_two_unlinked_teams_of_that_name_clash_and_nothing_changes(teams: TeamsHarness) -> None:
    first = portal_team(teams, "Sales West", "u1")
    second = portal_team(teams, "sales west")
    before = snapshot(teams)
    reply = teams.send(PushGroup(team_id=new_id(), display_name="Sales West", member_ids=("u9",)))
    detail = rejected(reply, RejectionReason.TEAM_NAME_CLASH)
    assert first.id in detail and second.id in detail
    assert '"Sales West"' in detail and '"sales west"' in detail and "Rename" in detail
    assert snapshot(teams) == before


def test_a_name_taken_by_a_linked_team_clashes(teams: TeamsHarness) -> None:
    taken = push(teams, "Sales West")
    before = snapshot(teams)
    detail = rejected(
        teams.send(PushGroup(team_id=new_id(), display_name="sales WEST")), RejectionReason.TEAM_NAME_CLASH
    )
    assert taken.id in detail
    assert snapshot(teams) == before


def test_patch_applies_removes_adds_and_a_rename_in_order_as_one_delta(teams: TeamsHarness) -> None:
    team = push(teams, "Sales", "u1", "u2", "u3")
    before = len(teams.events())
    reply = _patch(teams, team.id, remove("u1"), add("u4", "u5"), remove("u5"), rename_to="Sales East")
    assert reply.team.display_name == "Sales East" and reply.team.version == team.version + 1
    assert members(teams, team.id) == {"u2", "u3", "u4"}
    assert team_row(teams, team.id).member_count == 3
    renamed, changed = teams.events()[before:]
    assert isinstance(renamed, TeamRenamed)
    assert (renamed.previous_name, renamed.display_name) == ("Sales", "Sales East")
    assert isinstance(changed, TeamMembersChanged) and (changed.added, changed.removed) == (("u4",), ("u1",))


def test_okta_resending_the_name_and_members_changes_nothing(teams: TeamsHarness) -> None:
    team = push(teams, "Sales", "u1")
    before = snapshot(teams)
    reply = _patch(teams, team.id, add("u1"), remove("u7"), rename_to="Sales")
    assert reply.team.version == team.version
    assert snapshot(teams) == before


def test_a_rename_to_a_linked_teams_name_is_refused_with_the_whole_patch(teams: TeamsHarness) -> None:
    other = push(teams, "Marketing")
    team = push(teams, "Sales", "u1")
    before = snapshot(teams)
    reply = teams.send(PatchGroup(team_id=team.id, rename_to="MARKETING", changes=(add("u2"),)))
    assert other.id in rejected(reply, RejectionReason.TEAM_NAME_CLASH)
    assert snapshot(teams) == before


def test_a_rename_to_a_portal_teams_name_is_refused_so_a_lookup_by_name_finds_one_group(
    teams: TeamsHarness,
) -> None:
    portal = portal_team(teams, "Portal X", "u1")
    team = push(teams, "Sales", "u1")
    before = snapshot(teams)
    for rename in (
        PatchGroup(team_id=team.id, rename_to="portal x"),
        ReplaceGroup(team_id=team.id, display_name="PORTAL X"),
    ):
        detail = rejected(teams.send(rename), RejectionReason.TEAM_NAME_CLASH)
        assert portal.id in detail and "made in the portal" in detail
    assert snapshot(teams) == before


def test_a_rename_changing_only_the_case_is_a_rename(teams: TeamsHarness) -> None:
    team = push(teams, "sales")
    reply = _patch(teams, team.id, rename_to="Sales")
    assert reply.team.display_name == "Sales"
    assert isinstance(teams.events()[-1], TeamRenamed)


def test_put_replaces_the_members_as_a_delta(teams: TeamsHarness) -> None:
    team = push(teams, "Sales", "u1", "u2", "u3")
    before = len(teams.events())
    reply = teams.send(
        ReplaceGroup(team_id=team.id, display_name="Sales", external_id="x", member_ids=("u2", "u3", "u4"))
    )
    assert isinstance(reply, TeamReply) and reply.team.external_id == "x"
    assert members(teams, team.id) == {"u2", "u3", "u4"}
    assert member_deltas(teams)[-1] == ({"u4"}, {"u1"})
    assert len(teams.events()) == before + 1  # the externalId changes no event; nothing else changed


def test_put_with_the_same_content_changes_nothing(teams: TeamsHarness) -> None:
    team = push(teams, "Sales", "u1", "u2", external_id="e")
    before = snapshot(teams)
    reply = teams.send(
        ReplaceGroup(team_id=team.id, display_name="Sales", external_id="e", member_ids=("u2", "u1"))
    )
    assert isinstance(reply, TeamReply) and reply.team.version == team.version
    assert snapshot(teams) == before


def test_patch_replace_then_add_ends_with_both(teams: TeamsHarness) -> None:
    team = push(teams, "Sales", "u1", "u2")
    _patch(teams, team.id, add("u3"), replace("u2", "u4"), add("u5"), remove("u4"))
    assert members(teams, team.id) == {"u2", "u5"}
    assert team_row(teams, team.id).member_count == 2
    assert member_deltas(teams)[-1] == ({"u5"}, {"u1"})


def test_patch_replace_with_nothing_empties_the_team(teams: TeamsHarness) -> None:
    team = push(teams, "Sales", "u1", "u2")
    _patch(teams, team.id, replace())
    assert members(teams, team.id) == set()
    assert team_row(teams, team.id).member_count == 0


def test_one_member_change_on_a_10000_member_team_is_a_one_member_delta(teams: TeamsHarness) -> None:
    team = push(teams, "Everyone")
    seed_members(teams, team.id, [f"user-{n:05}" for n in range(10_000)])
    before = len(teams.events())
    reply = _patch(
        teams, team.id, add("newcomer", "user-00001"), rename_to="Everyone", reply_members_up_to=100
    )
    assert reply.team.members is None and reply.team.member_count == 10_001
    [event] = teams.events()[before:]
    assert isinstance(event, TeamMembersChanged) and (event.added, event.removed) == (("newcomer",), ())
    assert team_row(teams, team.id).member_count == 10_001
    _patch(teams, team.id, remove("user-00042"), reply_members_up_to=100)
    assert member_deltas(teams)[-1] == (set(), {"user-00042"})
    assert team_row(teams, team.id).member_count == 10_000
    assert len(members(teams, team.id)) == 10_000


def test_delete_removes_the_team_and_its_memberships_only(teams: TeamsHarness) -> None:
    known_user(teams, "u1")
    team = push(teams, "Sales", "u1")
    reply = teams.send(DeleteGroup(team_id=team.id, expected_version=team.version))
    assert isinstance(reply, Deleted) and reply.resource_id == team.id
    event = teams.events()[-1]
    assert isinstance(event, TeamDeleted) and event.source == ChangeSource.SCIM
    row = team_row(teams, team.id)
    assert row.deleted_at is not None and row.member_count == 0 and row.name_key is None
    with Session(teams.engine) as session:
        assert known_users.known_user(session, tenant="acme", user_id="u1") is not None
        assert store.all_member_ids(session, team_seq=row.seq or 0) == set()
    rejected(teams.send(GetTeam(team_id=team.id)), RejectionReason.NOT_FOUND)
    rejected(teams.send(DeleteGroup(team_id=team.id)), RejectionReason.NOT_FOUND)
    assert push(teams, "sales").id != team.id  # the name is free again


def test_a_stale_version_is_refused_and_nothing_changes(teams: TeamsHarness) -> None:
    team = push(teams, "Sales", "u1")
    before = snapshot(teams)
    stale = team.version - 1
    patch = PatchGroup(team_id=team.id, rename_to="X", changes=(add("u2"),), expected_version=stale)
    assert "version" in rejected(teams.send(patch), RejectionReason.VERSION_MISMATCH)
    put = ReplaceGroup(team_id=team.id, display_name="X", expected_version=stale)
    rejected(teams.send(put), RejectionReason.VERSION_MISMATCH)
    rejected(
        teams.send(DeleteGroup(team_id=team.id, expected_version=stale)), RejectionReason.VERSION_MISMATCH
    )
    assert snapshot(teams) == before


def _manager_team(teams: TeamsHarness) -> str:
    return manager_team(teams, "bob", team_id="mgr-team")


def test_unknown_deleted_and_manager_teams_are_not_groups(teams: TeamsHarness) -> None:
    manager = _manager_team(teams)
    before = snapshot(teams)
    for team_id in ("nope", manager):
        rejected(teams.send(PatchGroup(team_id=team_id, changes=(add("u1"),))), RejectionReason.NOT_FOUND)
        rejected(teams.send(ReplaceGroup(team_id=team_id, display_name="X")), RejectionReason.NOT_FOUND)
        rejected(teams.send(DeleteGroup(team_id=team_id)), RejectionReason.NOT_FOUND)
        rejected(teams.send(GetTeam(team_id=team_id)), RejectionReason.NOT_FOUND)
    assert snapshot(teams) == before
    reply = teams.send(GetTeam(team_id=manager, any_source=True))
    assert isinstance(reply, TeamReply) and reply.team.leader_id == "ann"


def test_deleted_users_are_skipped_and_unheard_of_users_accepted(teams: TeamsHarness) -> None:
    known_user(teams, "gone", deleted=True)
    known_user(teams, "here")
    team = push(teams, "Sales", "gone", "here", "in-flight")
    assert members(teams, team.id) == {"here", "in-flight"}
    _patch(teams, team.id, add("gone"))
    put = ReplaceGroup(team_id=team.id, display_name="Sales", member_ids=("gone", "here"))
    assert isinstance(teams.send(put), TeamReply)
    assert members(teams, team.id) == {"here"}


def test_a_scim_write_to_a_portal_team_links_it(teams: TeamsHarness) -> None:
    team = portal_team(teams, "Sales", "u1")
    before = len(teams.events())
    reply = _patch(teams, team.id, add("u2"))
    assert reply.team.linked and reply.team.version == team.version + 1
    linked, changed = teams.events()[before:]
    assert isinstance(linked, TeamLinked) and isinstance(changed, TeamMembersChanged)
    assert _patch(teams, team.id, add("u2")).team.version == reply.team.version  # now a plain resend


def test_a_redelivered_command_changes_nothing_twice(teams: TeamsHarness) -> None:
    envelope = teams.envelope(PushGroup(team_id=new_id(), display_name="Sales", member_ids=("u1",)))
    teams.deliver(envelope)
    teams.deliver(envelope)
    [row] = team_rows(teams)
    patch = teams.envelope(PatchGroup(team_id=row.id, changes=(add("u2"), remove("u1"))))
    teams.deliver(patch)
    after_first = snapshot(teams)
    teams.deliver(patch)
    assert snapshot(teams) == after_first
    assert isinstance(teams.reply_to(patch), TeamReply)
    assert members(teams, row.id) == {"u2"} and team_row(teams, row.id).member_count == 1
    assert len(teams.events()) == 3  # created, members, members


def test_a_scim_write_cannot_link_a_second_team_of_a_linked_name(teams: TeamsHarness) -> None:
    first = portal_team(teams, "Sales")
    second = portal_team(teams, "SALES")
    _patch(teams, first.id, add("u1"))
    before = snapshot(teams)
    reply = teams.send(PatchGroup(team_id=second.id, changes=(add("u1"),)))
    assert first.id in rejected(reply, RejectionReason.TEAM_NAME_CLASH)
    assert snapshot(teams) == before
    assert _patch(teams, second.id, add("u1"), rename_to="Sales 2").team.linked
