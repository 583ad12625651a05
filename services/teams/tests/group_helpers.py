"""Commands as the gateway sends them, and the teams as stored, for the group and portal tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

from sqlmodel import Session, col, select

from contracts.envelope import Message
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.teams import (
    CreatePortalTeam,
    MembershipChange,
    MembershipOp,
    PushGroup,
    TeamMembersChanged,
    TeamRecord,
    TeamReply,
    TeamSource,
)
from services.teams import known_users, store
from services.teams.known_users import KnownUser
from services.teams.store import MemberRow, TeamRow
from services.teams.tests.conftest import TeamsHarness


def new_id() -> str:
    return str(uuid4())


def push(teams: TeamsHarness, name: str, *members: str, external_id: str | None = None) -> TeamRecord:
    reply = teams.send(
        PushGroup(team_id=new_id(), display_name=name, external_id=external_id, member_ids=members)
    )
    assert isinstance(reply, TeamReply), reply
    return reply.team


def portal_team(teams: TeamsHarness, name: str, *members: str) -> TeamRecord:
    reply = teams.send(CreatePortalTeam(team_id=new_id(), display_name=name, member_ids=members))
    assert isinstance(reply, TeamReply), reply
    return reply.team


def add(*ids: str) -> MembershipChange:
    return MembershipChange(op=MembershipOp.ADD, user_ids=ids)


def remove(*ids: str) -> MembershipChange:
    return MembershipChange(op=MembershipOp.REMOVE, user_ids=ids)


def replace(*ids: str) -> MembershipChange:
    return MembershipChange(op=MembershipOp.REPLACE, user_ids=ids)


def rejected(reply: Message, reason: RejectionReason) -> str:
    assert isinstance(reply, CommandRejected), reply
    assert reply.reason == reason, reply
    return reply.detail


def team_rows(teams: TeamsHarness) -> list[TeamRow]:
    with Session(teams.engine) as session:
        return list(session.exec(select(TeamRow).order_by(col(TeamRow.seq))))


def team_row(teams: TeamsHarness, team_id: str) -> TeamRow:
    [row] = [row for row in team_rows(teams) if row.id == team_id]
    return row


def members(teams: TeamsHarness, team_id: str) -> set[str]:
    row = team_row(teams, team_id)
    with Session(teams.engine) as session:
        return set(session.exec(select(MemberRow.user_id).where(MemberRow.team_seq == row.seq)))


def snapshot(teams: TeamsHarness) -> tuple[object, ...]:
    """Everything a refused command must leave as it was: teams, memberships, events."""
    with Session(teams.engine) as session:
        rows = [row.model_dump() for row in session.exec(select(TeamRow).order_by(col(TeamRow.seq)))]
        memberships = sorted(session.exec(select(MemberRow.team_seq, MemberRow.user_id)).all())
    return rows, memberships, len(teams.events())


def member_deltas(teams: TeamsHarness) -> list[tuple[set[str], set[str]]]:
    return [
        (set(event.added), set(event.removed))
        for event in teams.events()
        if isinstance(event, TeamMembersChanged)
    ]


def seed_members(teams: TeamsHarness, team_id: str, user_ids: Sequence[str]) -> None:
    """A big team, written straight through the store (as many commands would have)."""
    with Session(teams.engine) as session, session.begin():
        row = store.lock_team(session, tenant="acme", team_id=team_id)
        assert row is not None
        store.add_members(session, row=row, user_ids=user_ids)


def known_user(teams: TeamsHarness, user_id: str, *, deleted: bool = False, tenant: str = "acme") -> None:
    with Session(teams.engine) as session, session.begin():
        user = KnownUser(user_id=user_id, user_name=f"{user_id}@x.com", deleted=deleted)
        known_users.save_known_user(session, tenant=tenant, user=user)


def manager_team(
    teams: TeamsHarness,
    *members: str,
    team_id: str = "mgr",
    name: str = "Ann's team",
    leader_id: str = "ann",
) -> str:
    """A manager team written straight through the store as the manager rule would have: its members
    known, with the leader as their manager."""
    with Session(teams.engine) as session, session.begin():
        for member in members:
            user = KnownUser(user_id=member, user_name=f"{member}@x.com", manager_id=leader_id)
            known_users.save_known_user(session, tenant="acme", user=user)
        row = store.add_team(
            session,
            tenant="acme",
            team_id=team_id,
            display_name=name,
            name_key=name.lower(),
            source=TeamSource.MANAGER,
            now=datetime.now(UTC),
            leader_id=leader_id,
        )
        store.add_members(session, row=row, user_ids=list(members))
        return row.id
