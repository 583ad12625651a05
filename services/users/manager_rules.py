"""Pure rules of the manager relation (docs/architecture.md §4 "Manager"): no I/O, named errors.

A user's manager comes from the reference the IdP sent (Okta's ``manager.value``, Entra's bare
string), resolved against the tenant's live users; failing that, from the tenant's default manager.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from contracts.rejections import Rejection, RejectionReason
from contracts.scim import ENTERPRISE_URN
from contracts.users import ManagerVia, RosterRole, UserRecord
from services.users.attributes import CATALOG, head_of, key_of


class InvalidDefaultManager(Rejection):
    reason = RejectionReason.INVALID_VALUE


class MatchedBy(IntEnum):
    """Which identifier of a user a reference equals; lower wins when several users match."""

    ID = 0
    EXTERNAL_ID = 1
    EMPLOYEE_NUMBER = 2
    USER_NAME = 3
    EMAIL = 4


EMPLOYEE_NUMBER_PATH = f"{ENTERPRISE_URN.lower()}:employeenumber"
# The search index paths holding each identifier (attributes.index_entries).
EXACT_PATHS = {"id": MatchedBy.ID, "externalid": MatchedBy.EXTERNAL_ID}
FOLDED_PATHS = {
    EMPLOYEE_NUMBER_PATH: MatchedBy.EMPLOYEE_NUMBER,
    "username": MatchedBy.USER_NAME,
    "emails.value": MatchedBy.EMAIL,
}
_ROLE_ORDER = (RosterRole.LEARNER, RosterRole.COACH, RosterRole.MANAGER, RosterRole.ADMIN)


@dataclass(frozen=True)
class Match:
    """A live user of the tenant one of whose identifiers equals a manager reference."""

    user_id: str
    seq: int
    matched_by: MatchedBy
    active: bool


@dataclass(frozen=True)
class Resolution:
    manager_id: str | None
    via: ManagerVia


@dataclass(frozen=True)
class ReferenceKeys:
    """A reference as the search index compares it: ``exact`` for id and externalId (RFC 7643
    caseExact), ``folded`` (NFC, lower case, NFC) for employeeNumber, userName and emails."""

    exact: str
    folded: str

    @property
    def heads(self) -> tuple[str, str]:
        """What ``user_managers`` stores and indexes: a reference of any length stays indexable."""
        return head_of(self.exact), head_of(self.folded)


def reference_keys(reference: str | None) -> ReferenceKeys | None:
    """None for no reference: absent, or blank (Entra sends ``""`` to clear a manager)."""
    if reference is None or not reference.strip():
        return None
    return ReferenceKeys(
        exact=key_of(CATALOG["id"], reference), folded=key_of(CATALOG["username"], reference)
    )


def reference_of(user: UserRecord) -> str | None:
    enterprise = user.profile.enterprise
    return enterprise.manager_ref if enterprise is not None else None


def identifier_heads(user: UserRecord) -> tuple[set[str], set[str]]:
    """The heads of the keys a reference to this user may equal: (exact, folded)."""
    profile = user.profile
    exact = {head_of(key_of(CATALOG["id"], user.id))}
    if profile.external_id is not None:
        exact.add(head_of(key_of(CATALOG["externalid"], profile.external_id)))
    folded_values = [profile.user_name, *(email.value for email in profile.emails if email.value)]
    if profile.enterprise is not None and profile.enterprise.employee_number is not None:
        folded_values.append(profile.enterprise.employee_number)
    folded = {head_of(key_of(CATALOG["username"], value)) for value in folded_values}
    return exact, folded


def pick(matches: Iterable[Match], *, user_id: str) -> Match | None:
    """The user a reference designates: by identifier priority, then the earliest created; an active
    match before an inactive one (a rehire: the old, deactivated account keeps the same email or
    employeeNumber — Okta never deletes it). A user is never their own manager."""
    candidates = [match for match in matches if match.user_id != user_id]
    active = [match for match in candidates if match.active]
    return min(active or candidates, key=lambda match: (match.matched_by, match.seq), default=None)


def on_default(user_id: str, *, default_id: str | None) -> Resolution:
    if default_id is None or default_id == user_id:
        return Resolution(manager_id=None, via=ManagerVia.NONE)
    return Resolution(manager_id=default_id, via=ManagerVia.DEFAULT)


def resolve(user_id: str, *, designated: Match | None, default_id: str | None) -> Resolution:
    """An active designated user is the manager; an absent, unknown or inactive one gives way to the
    default manager. Never a rejection: the IdP's manager value is not ours to police."""
    if designated is not None and designated.active:
        return Resolution(manager_id=designated.user_id, via=ManagerVia.REFERENCE)
    return on_default(user_id, default_id=default_id)


def effective_default(*, chosen_id: str | None, first_coach_id: str | None, usable: set[str]) -> str | None:
    """The admin's choice, else the first Coach ever added, provided they are live and active
    (``usable``); else nobody."""
    for candidate in (chosen_id, first_coach_id):
        if candidate is not None and candidate in usable:
            return candidate
    return None


def first_coach_after(first_coach_id: str | None, *, user_id: str, written: UserRecord | None) -> str | None:
    """The first Coach is sticky once recorded; deleting them (``written`` None) frees the place
    (``managers`` then looks up the earliest-added Coach left)."""
    if written is None:
        return None if first_coach_id == user_id else first_coach_id
    if first_coach_id is None and written.profile.role == RosterRole.COACH:
        return user_id
    return first_coach_id


def choice_after(chosen_id: str | None, *, user_id: str, written: UserRecord | None) -> str | None:
    """The admin's choice survives a demotion or deactivation (it counts again once undone), not a
    deletion: ids are never given again, so a deleted choice could never count again."""
    return None if written is None and chosen_id == user_id else chosen_id


def can_be_default(user: UserRecord) -> bool:
    """The default manager must have role manager or above (docs/architecture.md §4 "Manager")."""
    return _ROLE_ORDER.index(user.profile.role) >= _ROLE_ORDER.index(RosterRole.MANAGER)


def ensure_can_be_default(user: UserRecord) -> None:
    role = user.profile.role
    if not can_be_default(user):
        raise InvalidDefaultManager(
            f'User "{user.id}" ({user.profile.user_name}) has role {role.value}; the default manager'
            " must have role manager or admin. Give the user that role in the identity provider, or"
            " choose another user."
        )
