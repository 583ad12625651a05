"""A membership plan applied to one locked team, as a delta: what it reads costs what the plan
names, not what the team holds — unless the plan replaces the whole member list."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from contracts.teams import MembershipChange, MembershipOp
from services.teams import domain, known_users, store
from services.teams.store import TeamRow


def adding(user_ids: Sequence[str]) -> list[MembershipChange]:
    return [MembershipChange(op=MembershipOp.ADD, user_ids=tuple(user_ids))]


def delta(
    session: Session, *, row: TeamRow, changes: Sequence[MembershipChange]
) -> tuple[list[str], list[str]]:
    """(added, removed): the operations' real effect on the team."""
    assert row.seq is not None
    # Deleted users are never added back; ids the replica has not heard of yet are accepted, as the
    # users event may still be in flight (the gateway checked they are users of this tenant).
    # Already held when the team row was locked (``lock_team``); taken here for a team being created.
    store.hold_membership_adds(session, tenant=row.tenant)
    known = known_users.known_users(session, tenant=row.tenant, user_ids=domain.ids_added(changes))
    plan = domain.plan_membership(changes, gone={user_id for user_id, user in known.items() if user.deleted})
    if plan.replace_with is None:
        current = store.members_among(session, team_seq=row.seq, user_ids=list(plan.touched))
    else:
        current = store.all_member_ids(session, team_seq=row.seq)
    return domain.membership_delta(plan, current=current)


def apply(session: Session, *, row: TeamRow, added: Sequence[str], removed: Sequence[str]) -> None:
    store.remove_members(session, row=row, user_ids=removed)
    store.add_members(session, row=row, user_ids=added)
