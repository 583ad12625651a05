"""The SCIM resources Roster speaks: core User with the enterprise extension and Roster's own extension,
and core Group (a team pushed from, or linked to, an identity provider's group).

One definition for the gateway (parsing, rendering, discovery) and the owning services (filters and
sorting resolve attribute paths against it).

scim2-models expresses several extensions as a union in the subscript:
``User[EnterpriseUser | RosterUser]``; Roster's User differs from it only in how it reads e-mail values.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field
from scim2_models import (
    URN,
    CaseExact,
    ComplexAttribute,
    Email,
    EnterpriseUser,
    Extension,
    Group,
    Mutability,
    Returned,
)
from scim2_models import User as CoreUser

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


def _address_as_sent(value: str) -> str:
    """An e-mail value is a string that SHOULD follow RFC 5321 (RFC 7643 §4.1.2): one with a local
    part, an ``@`` and a domain, nothing blank or invisible in it, is kept exactly as sent.

    By hand because scim2-models' ``EmailStr`` (pydantic with email-validator) refuses what directories
    hold in practice — hybrid Active Directory's ``corp.local``, a dotless host — with no option to
    allow it, and rewrites what it accepts (the domain lowercased, a ``Name <address>`` cut down)."""
    local, at, domain = value.rpartition("@")
    if not (local and at and domain) or not all(c.isprintable() and not c.isspace() for c in value):
        raise ValueError("value is not an e-mail address (local-part@domain)")
    return value


class RosterEmail(Email):
    value: Annotated[str, AfterValidator(_address_as_sent)] | None = None
    """Email addresses for the user."""


# Named ``User``: scim2-models' messages name the class (``PatchOperation[User]``), and its docstring
# is the schema's description in /Schemas.
class User(CoreUser[EnterpriseUser | RosterUser]):
    """User"""

    # A list of the narrower item: pydantic reads with it; mypy holds lists invariant.
    emails: list[RosterEmail] | None = None  # type: ignore[assignment]
    """Email addresses for the user."""

    # ``ScimUser.Emails(...)`` builds the e-mail this User reads, not scim2-models' stricter one.
    Emails: ClassVar[type[ComplexAttribute]] = RosterEmail


ScimUser = User
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

ScimGroup = Group
"""Roster's Group is core Group (RFC 7643 §4.2) without extensions; members are users only."""
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
