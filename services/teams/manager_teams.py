"""Which manager teams exist (pure): for every manager with at least one active direct report there is
exactly one team holding all of those reports, led by the manager and named after them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.teams.domain import MAX_NAME_LENGTH

_TEAM_OF = "'s team"


@dataclass(frozen=True)
class UserState:
    """What the rule needs to know about one user, as the users events told it."""

    user_id: str
    active: bool
    deleted: bool
    manager_id: str | None


def leader_for(user: UserState) -> str | None:
    """The manager whose team the user belongs in: none while inactive, deleted or without a manager.
    Nobody leads a team of themselves (a default manager without a manager of their own)."""
    if user.deleted or not user.active or user.manager_id in (None, user.user_id):
        return None
    return user.manager_id


def team_name(*, leader_id: str, display_name: str | None, user_name: str | None) -> str:
    """How a manager team is called: after its manager, by the name the IdP gave them when known."""
    name = (display_name or "").strip() or (user_name or "").strip()
    # A displayName has no length limit, a team name has (domain.MAX_NAME_LENGTH).
    return f"{name[: MAX_NAME_LENGTH - len(_TEAM_OF)]}{_TEAM_OF}" if name else f"Team of manager {leader_id}"


def manager_teams(users: Iterable[UserState]) -> Mapping[str, frozenset[str]]:
    """Every manager team that should exist: leader → members (the property tests' oracle)."""
    teams: dict[str, set[str]] = {}
    for user in users:
        leader = leader_for(user)
        if leader is not None:
            teams.setdefault(leader, set()).add(user.user_id)
    return {leader: frozenset(members) for leader, members in teams.items()}
