"""The SCIM resources Roster speaks: core User with the enterprise extension and Roster's own extension,
and core Group (a team pushed from, or linked to, an identity provider's group).

One definition for the gateway (parsing, rendering, discovery) and the owning services (filters and
sorting resolve attribute paths against it).

scim2-models expresses several extensions as a union in the subscript:
``User[EnterpriseUser | RosterUser]``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from scim2_models import URN, CaseExact, EnterpriseUser, Extension, Group, Mutability, Returned, User

from contracts.users import RosterRole

ROSTER_USER_URN = "urn:roster:params:scim:schemas:extension:roster:2.0:User"
ROSTER_ROLES = [role.value for role in RosterRole]


class RosterUser(Extension):
    """Roster's own User attributes."""

    __schema__ = URN(ROSTER_USER_URN)

    role: Annotated[str | None, CaseExact.false, Mutability.read_write, Returned.default] = Field(
        None,
        examples=ROSTER_ROLES,  # published as canonicalValues
    )
    """The user's Roster role; default learner."""


ScimUser = User[EnterpriseUser | RosterUser]
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

ScimGroup = Group
"""Roster's Group is core Group (RFC 7643 §4.2) without extensions; members are users only."""
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
