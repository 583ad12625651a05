"""Pure rules about teams: no I/O, named errors with details an IdP admin can act on."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from contracts.rejections import Rejection, RejectionReason
from contracts.teams import MembershipChange, MembershipOp, TeamSource
from contracts.text import is_blank

MAX_REPLY_MEMBERS = 50_000
"""Members one reply may list: ~100 bytes each keeps a page well under the 8 MiB message limit."""

MAX_FILTERED_MEMBERS = 200_000
"""Members a filter naming ``members`` may have to look through across its candidate teams."""


class TeamNotFound(Rejection):
    reason = RejectionReason.NOT_FOUND


class InvalidTeam(Rejection):
    reason = RejectionReason.INVALID_VALUE


class TeamNameClash(Rejection):
    reason = RejectionReason.TEAM_NAME_CLASH


class ManagedElsewhere(Rejection):
    reason = RejectionReason.MANAGED_ELSEWHERE


class VersionMismatch(Rejection):
    reason = RejectionReason.VERSION_MISMATCH


class InvalidFilter(Rejection):
    reason = RejectionReason.INVALID_FILTER


class TooMany(Rejection):
    reason = RejectionReason.TOO_MANY


class Team(Protocol):
    """What the rules read of a team (``store.TeamRow`` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def linked(self) -> bool: ...
    @property
    def version(self) -> int: ...


T = TypeVar("T", bound=Team)


def name_key(name: str) -> str:
    """Team names compare as scim2-models compares displayName (caseExact false): NFC, lower case,
    NFC again (lower-casing can leave a string unnormalised). Link-by-name, uniqueness and
    ``displayName eq`` all use this one key, so a filter never misses a team a push then clashes with.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).lower())


# A name's key is a btree index entry, which PostgreSQL refuses above 2,704 bytes (a message it refuses
# would be dead-lettered): 512 characters are at most 2,048 bytes in UTF-8.
MAX_NAME_LENGTH = 512


def check_display_name(name: str) -> None:
    if is_blank(name):
        raise InvalidTeam("displayName is required and must not be blank.")
    if "\x00" in name:
        raise InvalidTeam("displayName must not contain a NUL character.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidTeam(f"displayName is longer than {MAX_NAME_LENGTH} characters.")


def check_member_ids(user_ids: Iterable[str]) -> None:
    for user_id in user_ids:
        if not user_id.strip() or "\x00" in user_id:
            raise InvalidTeam(f"{user_id!r} is not a user id: members need the id Roster gave the user.")


def ensure_id_never_used(team_id: str, *, used: bool) -> None:
    """Ids are never reused, not even after a delete."""
    if used:
        raise InvalidTeam(f'The id "{team_id}" has already been used.')


def not_found(team_id: str, *, kind: str = "Group") -> TeamNotFound:
    return TeamNotFound(f'{kind} "{team_id}" not found.')


def ensure_team(team: T | None, team_id: str) -> T:
    """Any team, manager teams included (the admin view)."""
    if team is None:
        raise not_found(team_id, kind="Team")
    return team


def is_group(team: Team) -> bool:
    """Manager teams are derived, not SCIM groups (they never appear under /Groups)."""
    return team.source != TeamSource.MANAGER.value


def ensure_group(team: T | None, team_id: str) -> T:
    if team is None or not is_group(team):
        raise not_found(team_id)
    return team


def check_version(team: Team, expected_version: int | None) -> None:
    """RFC 7644 §3.14: a write conditioned on a version that is no longer current is refused."""
    if expected_version is not None and expected_version != team.version:
        raise VersionMismatch(
            f'Group "{team.id}" has changed (version {team.version}, expected {expected_version}).'
            " Read it again and retry."
        )


def managed_by_idp(team: Team) -> bool:
    return team.source == TeamSource.SCIM.value or team.linked


def ensure_releasable(team: Team) -> None:
    """Only a team the identity provider manages can be handed back to the portal."""
    if team.source == TeamSource.MANAGER.value:
        ensure_portal_editable(team)  # derived: refused with where to change it
    if not managed_by_idp(team):
        raise InvalidTeam(
            f'Team "{team.display_name}" is not managed by an identity provider: it can be edited'
            " in the portal already."
        )


def ensure_portal_editable(team: Team) -> None:
    """One-way sync: what the identity provider or the manager rule owns is read-only here."""
    if team.source == TeamSource.MANAGER.value:
        raise ManagedElsewhere(
            f'Team "{team.display_name}" is derived from the manager relation: change the users\''
            " manager in the identity provider."
        )
    if managed_by_idp(team):
        raise ManagedElsewhere(
            f'Team "{team.display_name}" is managed in your identity provider (SCIM): change it there.'
        )


def push_target(display_name: str, named: Sequence[T]) -> T | None:
    """Link or create (docs/architecture.md §4): the one unlinked team of that name, or None to create one.

    ``named``: the live SCIM and portal teams whose name has the same ``name_key``.
    """
    linked = [team for team in named if managed_by_idp(team)]
    if linked:
        raise _taken(display_name, linked[0])
    if len(named) > 1:
        teams = ", ".join(f'"{team.display_name}" (id {team.id})' for team in named)
        raise TeamNameClash(
            f'Group "{display_name}" matches {len(named)} teams made in the portal: {teams}. Names'
            " are compared case-insensitively, so Roster cannot tell which one to link. Rename all"
            " but one of them in the portal, then push the group again."
        )
    return named[0] if named else None


def ensure_name_free(display_name: str, named: Sequence[Team], *, team_id: str | None) -> None:
    """Group names are unique per tenant among the teams the identity provider manages."""
    for team in named:
        if managed_by_idp(team) and team.id != team_id:
            raise _taken(display_name, team)


def ensure_name_free_for_rename(display_name: str, named: Sequence[Team], *, team_id: str) -> None:
    """A group renamed by the identity provider takes a name no other team holds, a portal team's
    included: a push links to the one team of its name, and a lookup by ``displayName eq`` must find
    one group, never two (RFC 7643 §4.2 ``uniqueness: server``)."""
    ensure_name_free(display_name, named, team_id=team_id)
    for team in named:
        if team.id != team_id:
            raise TeamNameClash(
                f'A team named "{team.display_name}" (id {team.id}) was made in the portal, so the group'
                f' cannot be renamed "{display_name}" too (names are compared case-insensitively).'
                " Rename or delete that team in the portal, then retry."
            )


def _taken(display_name: str, holder: Team) -> TeamNameClash:
    return TeamNameClash(
        f'A group named "{holder.display_name}" (id {holder.id}) is already managed by your identity'
        f' provider, so "{display_name}" cannot be used too (names are compared case-insensitively).'
        " Choose another name, or link to that group."
    )


def renames(team: Team, new_name: str | None) -> bool:
    """Okta sends the current name with every membership PATCH: only a different name renames."""
    return new_name is not None and new_name != team.display_name


def ensure_disjoint(add: Sequence[str], remove: Sequence[str]) -> None:
    both = sorted(set(add) & set(remove))
    if both:
        raise InvalidTeam(f"Users {', '.join(both)} are both added and removed: choose one for each user.")


# Membership deltas


@dataclass(frozen=True)
class MembershipPlan:
    """What a list of membership operations amounts to, without reading the team.

    ``replace_with``: the member list the last REPLACE set (None if there was none); ``touched``:
    the ids the operations after it name, True if they end in and False if out (last op wins).
    """

    replace_with: tuple[str, ...] | None = None
    touched: dict[str, bool] = field(default_factory=dict)


def ids_added(changes: Sequence[MembershipChange]) -> list[str]:
    """Every id an operation adds: those to look up among the users known to be deleted."""
    adding = (change.user_ids for change in changes if change.op is not MembershipOp.REMOVE)
    return list(dict.fromkeys(user_id for ids in adding for user_id in ids))


def plan_membership(changes: Sequence[MembershipChange], *, gone: Set[str] = frozenset()) -> MembershipPlan:
    """RFC 7644 §3.5.2: the operations of one PATCH apply in order, so add then remove of the
    same id ends absent. Ids in ``gone`` (users deleted) are left out of every add and replace:
    a deleted user never joins a team."""
    replace_with: tuple[str, ...] | None = None
    touched: dict[str, bool] = {}
    for change in changes:
        ids = (
            change.user_ids
            if change.op is MembershipOp.REMOVE
            else [u for u in change.user_ids if u not in gone]
        )
        if change.op is MembershipOp.REPLACE:
            replace_with, touched = tuple(dict.fromkeys(ids)), {}
            continue
        for user_id in ids:
            touched.pop(user_id, None)  # keep the order of last mention
            touched[user_id] = change.op is MembershipOp.ADD
    return MembershipPlan(replace_with=replace_with, touched=touched)


def membership_delta(plan: MembershipPlan, *, current: Set[str]) -> tuple[list[str], list[str]]:
    """(added, removed) against ``current`` — the team's members among the touched ids, or all of
    them when the plan replaces. Adding a member or removing a non-member is a no-op (RFC 7644
    §3.5.2)."""
    if plan.replace_with is None:
        added = [u for u, member in plan.touched.items() if member and u not in current]
        removed = [u for u, member in plan.touched.items() if not member and u in current]
        return added, removed
    target = dict.fromkeys(plan.replace_with, True)
    target.update(plan.touched)
    wanted = {user_id for user_id, member in target.items() if member}
    added = [user_id for user_id in target if user_id in wanted and user_id not in current]
    return added, sorted(current - wanted)
