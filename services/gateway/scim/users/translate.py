"""SCIM Users ↔ the users contracts: request bodies in (tolerant), resources out (contracts/rendering.py).

Tolerant on the way in — IdPs send more than the schema (RFC 7644 §3.3: unknown attributes are
ignored rather than refused) — strict on the way out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic.alias_generators import to_camel
from scim2_models import (
    Address,
    Context,
    Email,
    EnterpriseUser,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    Name,
    PhoneNumber,
    ResponseParameters,
    Role,
)

from contracts.rendering import CORE_URN, render_user
from contracts.scim import ENTERPRISE_URN, ROSTER_ROLES, RosterUser, ScimUser
from contracts.users import (
    ContactValue,
    EnterpriseInfo,
    PersonName,
    PostalAddress,
    RosterRole,
    UserPage,
    UserProfile,
    UserRecord,
)
from services.gateway.http.errors import refusal
from services.gateway.scim.policy import TOLERANT
from services.gateway.scim.users import bounds
from services.gateway.scim.users.manager_shapes import manager_object

Held = TypeVar("Held", ContactValue, PostalAddress)
UserProjection = ResponseParameters[ScimUser]
UserList = ListResponse[ScimUser]
"""Held here: pydantic keeps a parametrized model only while something refers to it, so one made in
each request is rebuilt (milliseconds) after every garbage collection."""


_CORE_QUALIFIER = f"{CORE_URN}:".lower()


def _prepare(body: dict[str, Any]) -> dict[str, Any]:
    """A core attribute named with its schema's URN (``urn:…:core:2.0:User:title``, RFC 7644 §3.10) as
    its short name, as PATCH paths and Group bodies take it: the library would ignore it as unknown,
    and a PUT would then erase the attribute it meant to set. Entra's manager shapes as an object."""
    prepared: dict[str, Any] = {}
    for key, value in body.items():
        short = key[len(_CORE_QUALIFIER) :] if key.lower().startswith(_CORE_QUALIFIER) else key
        if key.lower() == ENTERPRISE_URN.lower() and isinstance(value, dict):
            value = {k: manager_object(v) if k.lower() == "manager" else v for k, v in value.items()}
        prepared[short] = value
    return prepared


def parse_scim_user(body: Any) -> ScimUser:
    """Validate a request body as a User, ignoring attributes we do not know."""
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object (a SCIM User).")
    try:
        return ScimUser.model_validate(_prepare(body), scim_policy=TOLERANT)
    except ValidationError as error:
        raise refusal(error) from None


def profile_from_scim(body: Any) -> UserProfile:
    """A POST or PUT body. A user provisioned without ``active`` is active (Roster's rule)."""
    bounds.refuse_long_lists(body)
    user = parse_scim_user(body)
    if user.active is None:
        user.active = True
    profile = profile_of(user)
    bounds.refuse_oversized_user(profile)
    _refuse_two_primaries(profile)
    return profile


def _refuse_two_primaries(profile: UserProfile) -> None:
    """RFC 7643 §2.4: ``primary`` is true for at most one value of an attribute. A PATCH that marks
    another value primary unmarks the others (RFC 7644 §3.5.2, done by scim2-models); a POST or PUT
    body that marks two is refused, as a PATCH value that marks two is."""
    for field in bounds.MULTI_VALUED:
        if sum(1 for value in getattr(profile, field) if value.primary) > 1:
            raise InvalidValueException(
                detail=f"{to_camel(field)}: at most one value may be primary (RFC 7643 §2.4)."
            )


def profile_of(user: ScimUser) -> UserProfile:
    """Attributes as they stand; an ``active`` removed by PATCH stays unset (and counts as active)."""
    if user.user_name is None:
        raise InvalidValueException(detail="userName is required.")
    return UserProfile(
        user_name=user.user_name,
        external_id=user.external_id,
        display_name=user.display_name,
        nick_name=user.nick_name,
        profile_url=str(user.profile_url) if user.profile_url else None,
        title=user.title,
        user_type=user.user_type,
        preferred_language=user.preferred_language,
        locale=user.locale,
        timezone=user.timezone,
        active=user.active,
        name=_name_in(user.name),
        emails=_once(_contact_in(e) for e in user.emails or ()),
        phone_numbers=_once(_contact_in(p) for p in user.phone_numbers or ()),
        addresses=_once(_address_in(a) for a in user.addresses or ()),
        enterprise=_enterprise_in(user[EnterpriseUser]),
        roles=_once(_contact_in(role) for role in user.roles or ()),
        roster_role=_roster_role_in(user),
    )


def _once(values: Iterable[Held]) -> tuple[Held, ...]:
    """A value sent twice is held once, in its first place and spelling: RFC 7644 §3.5.2.1 makes adding
    a value an attribute already holds no change. "The same" ignores ``primary`` (the one kept is
    primary if either was: scim2-models compares ``primary: false`` and an unset one as different, and
    Entra ID re-adds an address to mark it primary) and letter case (RFC 7643 §4.1.2: these values are
    not case-exact)."""
    kept: dict[tuple[Any, ...], Held] = {}
    for value in values:
        same = _identity(value)
        if same not in kept:
            kept[same] = value
        elif value.primary and not kept[same].primary:
            kept[same] = kept[same].model_copy(update={"primary": True})
    return tuple(kept.values())


def _identity(value: ContactValue | PostalAddress) -> tuple[Any, ...]:
    fields = value.model_dump(exclude={"primary"})
    return tuple(item.casefold() if isinstance(item, str) else item for _, item in sorted(fields.items()))


def _roster_role_in(user: ScimUser) -> RosterRole | None:
    """Roster's extension: strict, as its canonical values are ours (unknown SCIM ``roles`` are kept)."""
    extension = user[RosterUser]
    if extension is None or extension.role is None:
        return None
    try:
        return RosterRole(extension.role.strip().lower())
    except ValueError:
        allowed = ", ".join(ROSTER_ROLES)
        raise InvalidValueException(
            detail=f"Unknown Roster role {extension.role!r}: use one of {allowed}."
        ) from None


def _name_in(name: Name | None) -> PersonName | None:
    if name is None:
        return None
    return PersonName.model_validate(name.model_dump(exclude_none=True, by_alias=False))


def _contact_in(item: Email | PhoneNumber | Role) -> ContactValue:
    kind = str(item.type) if item.type is not None else None
    return ContactValue(value=item.value, type=kind, primary=bool(item.primary), display=item.display)


def _address_in(address: Address) -> PostalAddress:
    data = address.model_dump(exclude_none=True, by_alias=False)
    data["primary"] = bool(address.primary)
    return PostalAddress.model_validate(data)


def _enterprise_in(extension: EnterpriseUser | None) -> EnterpriseInfo | None:
    if extension is None:
        return None
    manager = extension.manager
    return EnterpriseInfo(
        employee_number=extension.employee_number,
        cost_center=extension.cost_center,
        organization=extension.organization,
        division=extension.division,
        department=extension.department,
        manager_ref=manager.value if manager else None,
        manager_uri=str(manager.ref) if manager and manager.ref else None,
        manager_display=manager.display_name if manager else None,
    )


def user_body(record: UserRecord, *, base_url: str, shown: UserProjection | None = None) -> dict[str, Any]:
    user = render_user(record, base_url=base_url)
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=shown)


def list_body(page: UserPage, *, base_url: str, shown: UserProjection | None = None) -> dict[str, Any]:
    response = UserList(
        total_results=page.total_results,
        start_index=page.start_index,
        items_per_page=len(page.users),
        resources=[render_user(record, base_url=base_url) for record in page.users],
    )
    return response.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=shown)
