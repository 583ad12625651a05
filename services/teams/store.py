"""Teams and memberships (the view of users: ``known_users``). Keyword-only; the caller owns the transaction.

Memberships are one row per (team, user), written as deltas: adding or removing one member touches
one row and the team's ``member_count``, whatever the team's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint, bindparam, delete, insert
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from contracts.teams import TeamMember, TeamRecord, TeamSource
from servicekit import locks
from servicekit.clock import as_utc
from servicekit.queries import in_chunks, select_in
from services.teams.known_users import KnownUserRow


class TeamRow(SQLModel, table=True):
    __tablename__ = "teams"
    __table_args__ = (
        # One live manager team per leader; deleted teams drop their leader (NULLs never clash).
        UniqueConstraint("tenant", "leader_id", name="uq_teams_tenant_leader"),
        Index("ix_teams_tenant_name_key", "tenant", "name_key"),
    )

    seq: int | None = Field(default=None, primary_key=True)  # creation order: stable paging
    id: str = Field(unique=True, index=True)
    tenant: str = Field(index=True)
    display_name: str
    name_key: str | None  # domain.name_key(display_name); NULL once deleted
    external_id: str | None = None
    source: str  # TeamSource
    linked: bool = False  # managed by the identity provider
    leader_id: str | None = None
    member_count: int = 0
    created: datetime
    last_modified: datetime
    version: int = 1
    deleted_at: datetime | None = None  # the row stays so the id is never handed out again


class MemberRow(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = (Index("ix_team_members_tenant_user", "tenant", "user_id"),)

    team_seq: int = Field(
        sa_column=Column(Integer, ForeignKey("teams.seq", ondelete="CASCADE"), primary_key=True)
    )
    user_id: str = Field(sa_column=Column(String, primary_key=True))
    tenant: str


TEAM_TABLES: tuple[type[SQLModel], ...] = (TeamRow, MemberRow, KnownUserRow)


def lock_tenant_teams(session: Session, *, tenant: str) -> None:
    """Serialise changes to one tenant's set of teams and names (create, link, rename, delete), so two
    PostgreSQL instances cannot both find a name free. SQLite has one writer at a time."""
    locks.hold(session, f"teams:{tenant}")


def hold_membership_adds(session: Session, *, tenant: str, exclusive: bool = False) -> None:
    """A deletion of a user (``exclusive``) and additions of members (shared) to the tenant's teams
    never overlap on PostgreSQL: an add then either sees the user deleted or is seen by the deletion.
    Row locks cannot do it, as an id the teams service has not heard of yet has no row to lock.
    Taken before any team row, by every path, so the two never wait on each other in a cycle."""
    locks.hold(session, f"members:{tenant}", shared=not exclusive)


# Teams


def _locked(query: SelectOfScalar[TeamRow]) -> SelectOfScalar[TeamRow]:
    """The rows locked until the transaction ends, and re-read even if this session loaded them
    before the lock: a copy read earlier may hold a member count another instance changed since."""
    return query.with_for_update(of=TeamRow).execution_options(populate_existing=True)


def get_team(session: Session, *, tenant: str, team_id: str) -> TeamRow | None:
    """A live team, not locked (reads; ``lock_team`` for writes)."""
    query = select(TeamRow).where(
        TeamRow.tenant == tenant, TeamRow.id == team_id, col(TeamRow.deleted_at).is_(None)
    )
    return session.exec(query).first()


def lock_team(session: Session, *, tenant: str, team_id: str) -> TeamRow | None:
    """The live team, locked (``_locked``) after the tenant's membership-adds lock (see there)."""
    hold_membership_adds(session, tenant=tenant)
    query = select(TeamRow).where(
        TeamRow.tenant == tenant, TeamRow.id == team_id, col(TeamRow.deleted_at).is_(None)
    )
    return session.exec(_locked(query)).first()


def id_ever_used(session: Session, *, team_id: str) -> bool:
    return session.exec(select(TeamRow.seq).where(TeamRow.id == team_id)).first() is not None


def teams_named(session: Session, *, tenant: str, name_key: str) -> list[TeamRow]:
    """Live SCIM and portal teams whose name compares equal (manager teams are never matched)."""
    query = select(TeamRow).where(
        TeamRow.tenant == tenant,
        TeamRow.name_key == name_key,
        TeamRow.source != TeamSource.MANAGER.value,
        col(TeamRow.deleted_at).is_(None),
    )
    return list(session.exec(query.order_by(col(TeamRow.seq))))


_MANAGER_TEAM = select(TeamRow).where(
    TeamRow.tenant == bindparam("of_tenant"), TeamRow.leader_id == bindparam("of_leader")
)
_LOCK_MANAGER_TEAM = _locked(_MANAGER_TEAM)
_MANAGER_TEAM_SEQ = _MANAGER_TEAM.with_only_columns(TeamRow.seq)  # type: ignore[call-overload]


def lock_manager_team(session: Session, *, tenant: str, leader_id: str) -> TeamRow | None:
    """The manager team ``leader_id`` leads, locked (``_locked``)."""
    return session.exec(_LOCK_MANAGER_TEAM, params={"of_tenant": tenant, "of_leader": leader_id}).first()


def leads_a_team(session: Session, *, tenant: str, leader_id: str) -> bool:
    """Whether a manager team led by ``leader_id`` exists: an index probe, no row loaded or locked."""
    params = {"of_tenant": tenant, "of_leader": leader_id}
    return session.execute(_MANAGER_TEAM_SEQ, params).first() is not None


def add_team(
    session: Session,
    *,
    tenant: str,
    team_id: str,
    display_name: str,
    name_key: str,
    source: TeamSource,
    now: datetime,
    external_id: str | None = None,
    linked: bool = False,
    leader_id: str | None = None,
) -> TeamRow:
    row = TeamRow(
        id=team_id,
        tenant=tenant,
        display_name=display_name,
        name_key=name_key,
        external_id=external_id,
        source=source.value,
        linked=linked,
        leader_id=leader_id,
        created=now,
        last_modified=now,
    )
    session.add(row)
    session.flush()  # surfaces a uniqueness race now, inside the handler's transaction
    return row


def touch(session: Session, *, row: TeamRow, now: datetime) -> None:
    """The team changed: a new version (its ETag) and lastModified."""
    row.version += 1
    row.last_modified = now
    session.add(row)


def delete_team(session: Session, *, row: TeamRow, now: datetime) -> None:
    assert row.seq is not None
    session.execute(delete(MemberRow).where(col(MemberRow.team_seq) == row.seq))
    row.deleted_at = now
    row.name_key = None
    row.leader_id = None
    row.member_count = 0
    session.add(row)
    session.flush()


# Memberships


def members_among(session: Session, *, team_seq: int, user_ids: Sequence[str]) -> set[str]:
    """Which of ``user_ids`` are members: costs what ``user_ids`` costs, not what the team does."""
    query = select(MemberRow.user_id).where(MemberRow.team_seq == team_seq)
    return set(select_in(session, query, MemberRow.user_id, user_ids))


def all_member_ids(session: Session, *, team_seq: int) -> set[str]:
    return set(session.exec(select(MemberRow.user_id).where(MemberRow.team_seq == team_seq)))


def add_members(session: Session, *, row: TeamRow, user_ids: Sequence[str]) -> None:
    """Add ids that are not members yet (the caller computed the delta)."""
    assert row.seq is not None
    if user_ids:
        values = [{"team_seq": row.seq, "user_id": user_id, "tenant": row.tenant} for user_id in user_ids]
        session.execute(insert(MemberRow), values)
        row.member_count += len(user_ids)
        session.add(row)


def remove_members(session: Session, *, row: TeamRow, user_ids: Sequence[str]) -> int:
    """Remove these ids; how many were members. The count follows what was really deleted, so a
    membership another transaction removed meanwhile is not subtracted twice."""
    assert row.seq is not None
    removed = 0
    for chunk in in_chunks(user_ids):
        result = session.execute(
            delete(MemberRow).where(col(MemberRow.team_seq) == row.seq, col(MemberRow.user_id).in_(chunk))
        )
        removed += result.rowcount  # type: ignore[attr-defined]
    if removed:
        row.member_count -= removed
        session.add(row)
    return removed


_LOCK_TEAMS_OF_USER = _locked(
    select(TeamRow)
    .join(MemberRow, col(MemberRow.team_seq) == col(TeamRow.seq))
    .where(
        MemberRow.tenant == bindparam("of_tenant"),
        MemberRow.user_id == bindparam("of_user"),
        col(TeamRow.deleted_at).is_(None),
    )
    .order_by(col(TeamRow.seq))
)


def lock_teams_of_user(session: Session, *, tenant: str, user_id: str) -> list[TeamRow]:
    """Every live team the user is a member of, locked (``_locked``)."""
    return list(session.exec(_LOCK_TEAMS_OF_USER, params={"of_tenant": tenant, "of_user": user_id}))


def members_by_team(
    session: Session, *, rows: Sequence[TeamRow], among: frozenset[str] | None = None
) -> dict[int, list[TeamMember]]:
    """The members of several teams in one query per 500 teams, each list ordered by user id; only
    those among ``among`` when given (a few ids: an index seek per team, whatever its size)."""
    found: dict[int, list[TeamMember]] = {row.seq: [] for row in rows if row.seq is not None}
    for seqs in in_chunks(sorted(found)):
        query = (
            select(MemberRow.team_seq, MemberRow.user_id, KnownUserRow.user_name)
            .outerjoin(
                KnownUserRow,
                (col(KnownUserRow.tenant) == col(MemberRow.tenant))
                & (col(KnownUserRow.user_id) == col(MemberRow.user_id)),
            )
            .where(col(MemberRow.team_seq).in_(seqs))
            .order_by(col(MemberRow.team_seq), col(MemberRow.user_id))
        )
        if among is not None:
            query = query.where(col(MemberRow.user_id).in_(sorted(among)))
        for team_seq, user_id, user_name in session.exec(query):
            found[team_seq].append(TeamMember(user_id=user_id, display=user_name))
    return found


def members_page(session: Session, *, row: TeamRow, after: str | None, limit: int) -> list[TeamMember]:
    """Up to ``limit`` members after ``after`` in user id order: a range scan of the primary key, so a
    page costs the same on a team of any size."""
    query = (
        select(MemberRow.user_id, KnownUserRow.user_name)
        .outerjoin(
            KnownUserRow,
            (col(KnownUserRow.tenant) == col(MemberRow.tenant))
            & (col(KnownUserRow.user_id) == col(MemberRow.user_id)),
        )
        .where(col(MemberRow.team_seq) == row.seq)
    )
    if after is not None:
        query = query.where(col(MemberRow.user_id) > after)
    query = query.order_by(col(MemberRow.user_id)).limit(limit)
    return [TeamMember(user_id=user_id, display=user_name) for user_id, user_name in session.exec(query)]


def team_record(session: Session, *, row: TeamRow, include_members: bool, members_up_to: int) -> TeamRecord:
    """The team as replies carry it; members only if asked for and at most ``members_up_to`` of them."""
    members = None
    if include_members and row.member_count <= members_up_to and row.seq is not None:
        members = tuple(members_by_team(session, rows=[row])[row.seq])
    return TeamRecord(
        id=row.id,
        display_name=row.display_name,
        external_id=row.external_id,
        source=TeamSource(row.source),
        linked=row.linked,
        leader_id=row.leader_id,
        member_count=row.member_count,
        members=members,
        created=as_utc(row.created),
        last_modified=as_utc(row.last_modified),
        version=row.version,
    )
