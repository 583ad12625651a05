"""What a client sees of a user: a ``UserRecord`` rendered as a SCIM User (RFC 7643 §4.1, §8.7.1).

One definition for the gateway, which answers with it, and for the users service, whose search index
holds exactly the values of this rendering (filters and ``sortBy`` are judged against what clients read
back). Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from scim2_models import Meta

from contracts.scim import ENTERPRISE_URN, ROSTER_USER_URN, ScimUser
from contracts.users import EnterpriseInfo, UserProfile, UserRecord

CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:User"

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


def manager_of(info: EnterpriseInfo) -> dict[str, str] | None:
    """The manager exactly as the identity provider sent it; none when it sent no part of it (empty
    strings alone are no part of it)."""
    if not (info.manager_ref or info.manager_uri or info.manager_display):
        return None
    return _given(value=info.manager_ref, ref=info.manager_uri, display_name=info.manager_display)


_CORE_ATTRIBUTES = set(UserProfile.model_fields) - {"enterprise", "roster_role"}
"""The profile's attributes the core User schema carries under the same names (``user_name`` …)."""


def _given(**attributes: Any) -> dict[str, Any]:
    return {name: value for name, value in attributes.items() if value is not None}


def _extensions(profile: UserProfile) -> dict[str, dict[str, Any]]:
    enterprise = profile.enterprise
    return {
        ENTERPRISE_URN: {}
        if enterprise is None
        else _given(
            employee_number=enterprise.employee_number,
            cost_center=enterprise.cost_center,
            organization=enterprise.organization,
            division=enterprise.division,
            department=enterprise.department,
            manager=manager_of(enterprise),
        ),
        ROSTER_USER_URN: _given(role=profile.roster_role.value if profile.roster_role else None),
    }


def render_user(record: UserRecord, *, base_url: str) -> ScimUser:
    """The SCIM User of a record, ``meta`` included (its location under ``base_url``).

    Validated from one payload: scim2-models then resolves attribute names in one pass over the whole
    resource, about twice as fast as building it sub-object by sub-object (the users service renders
    every user it writes, for its search index).
    """
    profile = record.profile
    extensions = _extensions(profile)
    core = profile.model_dump(include=_CORE_ATTRIBUTES, exclude_none=True)
    payload = {name: value for name, value in core.items() if value != ()}  # no emails: no ``emails``
    payload |= {
        # RFC 7643 §3: ``schemas`` names the schemas of the attributes present, an extension only when
        # it has a value (as the dump lists them), so what reads the object sees what clients read.
        "schemas": [CORE_URN, *(urn for urn, values in extensions.items() if values)],
        "id": record.id,
        "meta": meta_of(record, resource_type="User", endpoint="Users", base_url=base_url),
    }
    if profile.enterprise is not None:
        payload[ENTERPRISE_URN] = extensions[ENTERPRISE_URN]
    if extensions[ROSTER_USER_URN]:
        payload[ROSTER_USER_URN] = extensions[ROSTER_USER_URN]
    return ScimUser.model_validate(payload)
