"""What a client sees of a user: a ``UserRecord`` rendered as a SCIM User (RFC 7643 §4.1, §8.7.1).

One definition for the gateway, which answers with it, and for the users service, whose search index
holds exactly the values of this rendering (filters and ``sortBy`` are judged against what clients read
back). Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from scim2_models import Address, Email, EnterpriseUser, Manager, Meta, Name, PhoneNumber, Role

from contracts.scim import RosterUser, ScimUser
from contracts.users import EnterpriseInfo, UserRecord

NOT_STORED = frozenset({"password", "ims", "photos", "groups", "entitlements", "x509Certificates"})
"""Core User attributes no Roster contract carries: accepted on the way in, then dropped; left out of the
published schema, and refused in filters and ``sortBy`` rather than answered as absent. (``roles`` is
stored: its primary value stands for the Roster role when the extension is absent.)"""


def version_tag(version: int) -> str:
    """``meta.version`` and the ``ETag`` header (RFC 7644 §3.14): a weak tag of the record's version."""
    return f'W/"{version}"'


def location(base_url: str, endpoint: str, resource_id: str) -> str:
    """``meta.location`` and the ``Location`` header, e.g. ``<base>/Users/<id>``."""
    return f"{base_url}/{endpoint}/{resource_id}"


class Record(Protocol):
    """A user or a team record as its owner answers it."""

    @property
    def id(self) -> str: ...
    @property
    def created(self) -> datetime: ...
    @property
    def last_modified(self) -> datetime: ...
    @property
    def version(self) -> int: ...


def meta_of(record: Record, *, resource_type: str, endpoint: str, base_url: str) -> Meta:
    """``meta`` (RFC 7643 §3.1): the record's times, its location and its version as an entity tag."""
    return Meta(
        resource_type=resource_type,
        created=record.created,
        last_modified=record.last_modified,
        location=location(base_url, endpoint, record.id),
        version=version_tag(record.version),
    )


def manager_of(info: EnterpriseInfo) -> Manager | None:
    """The manager exactly as the identity provider sent it; none when it sent no part of it."""
    if not (info.manager_ref or info.manager_uri or info.manager_display):
        return None
    return Manager(value=info.manager_ref, ref=info.manager_uri, display_name=info.manager_display)


def _enterprise(info: EnterpriseInfo) -> EnterpriseUser:
    """An extension with no attribute set is left out of the dump, and its URN out of ``schemas``."""
    return EnterpriseUser(
        employee_number=info.employee_number,
        cost_center=info.cost_center,
        organization=info.organization,
        division=info.division,
        department=info.department,
        manager=manager_of(info),
    )


def render_user(record: UserRecord, *, base_url: str) -> ScimUser:
    """The SCIM User of a record, ``meta`` included (its location under ``base_url``)."""
    profile = record.profile
    # Every attribute goes to the constructor: setting an extension afterwards (``user[RosterUser] = …``)
    # resolves a path each time, which would multiply the cost of the index the users service writes.
    extensions: dict[str, Any] = {
        EnterpriseUser.__name__: _enterprise(profile.enterprise) if profile.enterprise else None,
        RosterUser.__name__: RosterUser(role=profile.roster_role.value) if profile.roster_role else None,
    }
    user = ScimUser(
        id=record.id,
        external_id=profile.external_id,
        user_name=profile.user_name,
        display_name=profile.display_name,
        nick_name=profile.nick_name,
        profile_url=profile.profile_url,
        title=profile.title,
        user_type=profile.user_type,
        preferred_language=profile.preferred_language,
        locale=profile.locale,
        timezone=profile.timezone,
        active=profile.active,
        name=Name(**profile.name.model_dump()) if profile.name else None,
        emails=[Email(**e.model_dump(exclude_none=True)) for e in profile.emails] or None,
        phone_numbers=[PhoneNumber(**p.model_dump(exclude_none=True)) for p in profile.phone_numbers] or None,
        addresses=[Address(**a.model_dump(exclude_none=True)) for a in profile.addresses] or None,
        roles=[Role(**role.model_dump(exclude_none=True)) for role in profile.roles] or None,
        meta=meta_of(record, resource_type="User", endpoint="Users", base_url=base_url),
        **extensions,
    )
    user.schemas = _listed_schemas(user)
    return user


def _listed_schemas(user: ScimUser) -> list[str]:
    """RFC 7643 §3: ``schemas`` names the schemas of the attributes present. scim2-models works that out
    only when it dumps; the rendered object is given it too, so what reads the object (the search index,
    ``ScimFilter.match``) sees the ``schemas`` clients read."""
    present = [
        urn
        for urn, extension in ScimUser.get_extension_models().items()
        if (values := getattr(user, extension.__name__)) is not None
        and any(getattr(values, name) is not None for name in type(values).model_fields if name != "schemas")
    ]
    return [str(ScimUser.__schema__), *present]
