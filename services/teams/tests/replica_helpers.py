"""Users events as the users service publishes them, and the manager teams as stored."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from contracts.sources import ChangeSource
from contracts.teams import TeamSource
from contracts.users import ManagerVia, UserManagerChanged, UserProfile, UserRecord
from services.teams.store import MemberRow, TeamRow

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def record(user_id: str, *, manager_id: str | None = None, active: bool = True, name: str = "") -> UserRecord:
    profile = UserProfile(user_name=f"{user_id}@example.com", display_name=name or None, active=active)
    return UserRecord(
        id=user_id, profile=profile, created=NOW, last_modified=NOW, version=1, manager_id=manager_id
    )


def manager_changed(user_id: str, manager_id: str | None, previous: str | None = None) -> UserManagerChanged:
    via = ManagerVia.REFERENCE if manager_id else ManagerVia.NONE
    return UserManagerChanged(
        user_id=user_id,
        manager_id=manager_id,
        previous_manager_id=previous,
        via=via,
        source=ChangeSource.MANAGER_RULE,
    )


def manager_teams(engine: Engine, tenant: str = "acme") -> dict[str, frozenset[str]]:
    """leader → members of every live manager team (empty teams included, so a test sees them)."""
    with Session(engine) as session:
        teams = session.exec(
            select(TeamRow).where(
                TeamRow.tenant == tenant,
                TeamRow.source == TeamSource.MANAGER.value,
                col(TeamRow.deleted_at).is_(None),
            )
        ).all()
        found: dict[str, frozenset[str]] = {}
        for team in teams:
            assert team.leader_id is not None and team.leader_id not in found
            members = session.exec(select(MemberRow.user_id).where(MemberRow.team_seq == team.seq)).all()
            assert team.member_count == len(members), "member_count drifted from the member rows"
            found[team.leader_id] = frozenset(members)
        return found


def members_of(engine: Engine, team_id: str) -> frozenset[str]:
    with Session(engine) as session:
        team = session.exec(select(TeamRow).where(TeamRow.id == team_id)).one()
        rows = session.exec(select(MemberRow.user_id).where(MemberRow.team_seq == team.seq)).all()
        assert team.member_count == len(rows)
        return frozenset(rows)
