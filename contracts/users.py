"""Messages owned by the users service: commands, queries, replies and events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Message
from contracts.listing import KeysetPage, ListParameters
from contracts.sources import ChangeSource


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PersonName(_Data):
    formatted: str | None = None
    family_name: str | None = None
    given_name: str | None = None
    middle_name: str | None = None
    honorific_prefix: str | None = None
    honorific_suffix: str | None = None


class ContactValue(_Data):
    """One entry of a multi-valued attribute such as emails or phoneNumbers."""

    value: str | None = None
    type: str | None = None
    primary: bool = False
    display: str | None = None


class PostalAddress(_Data):
    formatted: str | None = None
    street_address: str | None = None
    locality: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    type: str | None = None
    primary: bool = False


class EnterpriseInfo(_Data):
    employee_number: str | None = None
    cost_center: str | None = None
    organization: str | None = None
    division: str | None = None
    department: str | None = None
    manager_ref: str | None = Field(
        default=None, description="The manager reference (manager.value) exactly as the IdP sent it."
    )
    manager_uri: str | None = Field(default=None, description="manager.$ref as sent, if any.")
    manager_display: str | None = Field(default=None, description="manager.displayName as sent, if any.")


class RosterRole(StrEnum):
    """Roster's roles, lowest to highest."""

    LEARNER = "learner"
    COACH = "coach"
    MANAGER = "manager"
    ADMIN = "admin"


class UserProfile(_Data):
    """Everything Roster stores about a user, as the IdP gave it. Secrets are never part of it."""

    user_name: str
    external_id: str | None = None
    display_name: str | None = None
    nick_name: str | None = None
    profile_url: str | None = None
    title: str | None = None
    user_type: str | None = None
    preferred_language: str | None = None
    locale: str | None = None
    timezone: str | None = None
    active: bool | None = Field(default=True, description="None: unset, which counts as active.")
    name: PersonName | None = None
    emails: tuple[ContactValue, ...] = ()
    phone_numbers: tuple[ContactValue, ...] = ()
    addresses: tuple[PostalAddress, ...] = ()
    enterprise: EnterpriseInfo | None = None
    roles: tuple[ContactValue, ...] = Field(default=(), description="SCIM roles exactly as sent.")
    roster_role: RosterRole | None = Field(default=None, description="The Roster extension's role, if set.")

    @property
    def is_active(self) -> bool:
        return self.active is not False

    @property
    def role(self) -> RosterRole:
        """The Roster role: the extension's if set, else the primary (or first) SCIM role Roster knows."""
        if self.roster_role is not None:
            return self.roster_role
        for entry in sorted(self.roles, key=lambda entry: not entry.primary):
            known = _as_roster_role(entry.value)
            if known is not None:
                return known
        return RosterRole.LEARNER


def _as_roster_role(value: str | None) -> RosterRole | None:
    try:
        return RosterRole((value or "").strip().lower())
    except ValueError:
        return None


class ManagerVia(StrEnum):
    """Why a user has the manager they have."""

    REFERENCE = "reference"  # manager.value found a live, active user of the tenant
    DEFAULT = "default"  # no manager given, or not (yet) provisioned, or inactive: the default manager
    NONE = "none"  # neither the reference nor a default manager is available


class UserRecord(_Data):
    id: str
    profile: UserProfile
    created: datetime
    last_modified: datetime
    version: int
    manager_id: str | None = Field(
        default=None,
        description="The resolved manager (a user id): from manager_ref, else the tenant's default manager.",
    )
    manager_via: ManagerVia | None = Field(
        default=None, description="Why the user has that manager; None where the users service did not say."
    )


# Commands


class CreateUser(Message):
    user_id: str
    profile: UserProfile


class ReplaceUser(Message):
    """Full replacement (SCIM PUT, and PATCH once the gateway applied it). Never creates.

    ``expected_version``: refuse unless the stored version still is this one (If-Match, and the
    gateway's read-modify-write of a PATCH).
    """

    user_id: str
    profile: UserProfile
    expected_version: int | None = None


class DeleteUser(Message):
    user_id: str
    expected_version: int | None = None


class SetDefaultManager(Message):
    """The admin's choice of default manager (must have role manager or above); None clears it, so the
    first Coach ever added is the default again."""

    user_id: str | None = None


# Queries


class GetUser(Message):
    user_id: str


class ListUsers(ListParameters, Message):
    """``filter`` is the SCIM filter text (RFC 7644 §3.4.2.2); the owner evaluates it."""


class ListActiveUserIds(KeysetPage, Message):
    """The tenant's active users, a page at a time in id order (the seats reconciliation compares them
    with seats held). The first page (no ``after``) also names the users whose change waits for a seat."""


class ReconcileSeat(Message):
    """Make the seats service agree with this user as they are now (``roster-admin seats reconcile
    --repair``): a seat for an active user, none otherwise. Handled in the user's order, so a repair
    never undoes a later deactivation; nothing while a change of theirs waits for a seat."""

    user_id: str


class FindUserIds(Message):
    """Which of these ids are live users of the tenant (the gateway checks group members with it)."""

    user_ids: tuple[str, ...]


class GetDefaultManager(Message):
    pass


# Replies


class DefaultManager(Message):
    chosen_id: str | None = Field(description="The admin's choice, if any.")
    first_coach_id: str | None = Field(description="The first user with the Coach role ever added, if any.")
    effective_id: str | None = Field(description="Who users without a (provisioned, active) manager get now.")


class UserIds(Message):
    user_ids: tuple[str, ...]
    in_flight: tuple[str, ...] = Field(
        default=(), description="Users whose create or reactivation waits for a seat decision."
    )
    allowance_unspent: int = Field(
        default=0, ge=0, description="Seats of the tenant's allowance this service holds (first page only)."
    )


class UserReply(Message):
    user: UserRecord


class UserPage(Message):
    total_results: int
    start_index: int
    users: tuple[UserRecord, ...]


# Events


class UserCreated(Message):
    user: UserRecord


class UserUpdated(Message):
    """Any change of a user's attributes, with the user as it is now."""

    user: UserRecord


class UserDeactivated(Message):
    user_id: str


class UserReactivated(Message):
    user_id: str


class UserDeleted(Message):
    user_id: str


class UserManagerChanged(Message):
    """The user's resolved manager changed (``UserRecord.manager_id``)."""

    user_id: str
    manager_id: str | None
    previous_manager_id: str | None
    via: ManagerVia
    source: ChangeSource


class DefaultManagerChanged(Message):
    chosen_id: str | None
    effective_id: str | None
    source: ChangeSource
