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


def _extension_of_each_name() -> dict[str, str | None]:
    owners: dict[str, set[str]] = {}
    for urn, model in ScimUser.get_extension_models().items():
        for field_name in model.model_fields:
            owners.setdefault(model._scim_name(field_name).lower(), set()).add(urn)
    owners.pop("schemas", None)
    core = {ScimUser._scim_name(field_name).lower() for field_name in ScimUser.model_fields}
    return {
        name: urns.pop() if len(urns) == 1 and name not in core else None for name, urns in owners.items()
    }


_EXTENSION_OF_NAME = _extension_of_each_name()


def user_extension_owning(attribute_name: str) -> str | None:
    """The schema URN of the one User extension with an attribute of this name (``department``: the
    enterprise one); None if a core attribute has the name, or no extension or several do. RFC 7644
    §3.10 lets a client omit the URN of core attributes and asks it to qualify an extension's, to
    avoid conflicts (SHOULD); a name only one extension has is no conflict, so filters, ``sortBy``,
    ``attributes`` and PATCH paths take it bare (``manager.value``)."""
    return _EXTENSION_OF_NAME.get(attribute_name.lower())


def qualified_user_path(path: str) -> str:
    """``department`` as ``urn:…:enterprise:2.0:User:department``, ``manager.value`` likewise; any other
    path as it is."""
    if ":" in path:
        return path
    extension = user_extension_owning(path.split(".", 1)[0])
    return path if extension is None else f"{extension}:{path}"
