"""Pure translation between SCIM resources (scim2-models) and Roster's message contracts.

Tolerant on the way in — IdPs send more than the schema (RFC 7644 §3.3: unknown attributes are
ignored rather than refused), strict on the way out.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError
from scim2_models import (
    Address,
    Context,
    Email,
    EnterpriseUser,
    ListResponse,
    Manager,
    Meta,
    Name,
    PhoneNumber,
    ResponseParameters,
    Role,
)

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
from services.gateway.errors import ScimProblem
from services.gateway.etags import etag

_MAX_CLEANING_ROUNDS = 8
Projection = ResponseParameters[ScimUser]


def _drop(body: Any, location: tuple[int | str, ...]) -> None:
    *parents, last = location
    for part in parents:
        body = body[part]
    if isinstance(body, dict) and last in body:
        del body[last]


def _prepare(body: dict[str, Any]) -> dict[str, Any]:
    prepared = dict(body)
    for key, value in body.items():
        if key.lower() == ENTERPRISE_URN.lower() and isinstance(value, dict):
            extension = dict(value)
            manager_key = next((k for k in extension if k.lower() == "manager"), None)
            # Entra ID may send the manager as a bare string instead of {"value": …}.
            if manager_key and isinstance(extension[manager_key], str):
                extension[manager_key] = {"value": extension[manager_key]}
            prepared[key] = extension
    return prepared


def parse_scim_user(body: Any) -> ScimUser:
    """Validate a request body as a User, ignoring attributes we do not know."""
    if not isinstance(body, dict):
        raise ScimProblem(400, "The request body must be a JSON object (a SCIM User).", "invalidSyntax")
    candidate = _prepare(body)
    for _ in range(_MAX_CLEANING_ROUNDS):
        try:
            return ScimUser.model_validate(candidate)
        except ValidationError as error:
            unknown = [e["loc"] for e in error.errors() if e["type"] == "extra_forbidden"]
            if not unknown:
                raise _invalid_value(error) from error
            for location in unknown:
                _drop(candidate, location)
    raise ScimProblem(400, "The User has too many unknown nested attributes.", "invalidValue")


def _invalid_value(error: ValidationError) -> ScimProblem:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    # Only the message, never the input: the body may carry a password.
    return ScimProblem(400, f"Attribute {where}: {first['msg']}.", "invalidValue")


def profile_from_scim(body: Any) -> UserProfile:
    """A POST or PUT body. A user provisioned without ``active`` is active (Roster's rule)."""
    user = parse_scim_user(body)
    if user.active is None:
        user.active = True
    return profile_of(user)


def profile_of(user: ScimUser) -> UserProfile:
    """Attributes as they stand; an ``active`` removed by PATCH stays unset (and counts as active)."""
    if user.user_name is None:
        raise ScimProblem(400, "userName is required.", "invalidValue")
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
        emails=tuple(_contact_in(e) for e in user.emails or ()),
        phone_numbers=tuple(_contact_in(p) for p in user.phone_numbers or ()),
        addresses=tuple(_address_in(a) for a in user.addresses or ()),
        enterprise=_enterprise_in(user[EnterpriseUser]),
        roles=tuple(_contact_in(role) for role in user.roles or ()),
        roster_role=_roster_role_in(user),
    )


def _roster_role_in(user: ScimUser) -> RosterRole | None:
    """Roster's extension: strict, as its canonical values are ours (unknown SCIM ``roles`` are kept)."""
    extension = user[RosterUser]
    if extension is None or extension.role is None:
        return None
    try:
        return RosterRole(extension.role.strip().lower())
    except ValueError:
        allowed = ", ".join(ROSTER_ROLES)
        raise ScimProblem(
            400, f"Unknown Roster role {extension.role!r}: use one of {allowed}.", "invalidValue"
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


def scim_user(record: UserRecord, *, base_url: str) -> ScimUser:
    profile = record.profile
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
        meta=Meta(
            resource_type="User",
            created=record.created,
            last_modified=record.last_modified,
            location=f"{base_url}/Users/{record.id}",
            version=etag(record),
        ),
    )
    user.roles = [Role(**role.model_dump(exclude_none=True)) for role in profile.roles] or None
    if profile.roster_role is not None:
        user[RosterUser] = RosterUser(role=profile.roster_role.value)
    if profile.enterprise is not None:
        user[EnterpriseUser] = _enterprise_out(profile.enterprise)
    return user


def _enterprise_out(info: EnterpriseInfo) -> EnterpriseUser:
    return EnterpriseUser(
        employee_number=info.employee_number,
        cost_center=info.cost_center,
        organization=info.organization,
        division=info.division,
        department=info.department,
        manager=_manager_out(info),
    )


Parameters = TypeVar("Parameters", bound=ResponseParameters[Any])


def projection(attributes: str | None, excluded_attributes: str | None) -> Projection:
    """RFC 7644 §3.9 ``attributes`` / ``excludedAttributes`` (comma-separated), for Users."""
    return response_parameters(Projection, attributes, excluded_attributes)


def response_parameters(
    kind: type[Parameters], attributes: str | None, excluded_attributes: str | None
) -> Parameters:
    """RFC 7644 §3.9 parameters checked against one resource type (``ResponseParameters[<it>]``)."""
    try:
        return kind.model_validate(
            {"attributes": attributes or None, "excluded_attributes": excluded_attributes or None}
        )
    except ValidationError as error:
        raise ScimProblem(
            400, f"attributes/excludedAttributes: {error.errors()[0]['msg']}.", "invalidValue"
        ) from None


def _manager_out(info: EnterpriseInfo) -> Manager | None:
    if not (info.manager_ref or info.manager_uri or info.manager_display):
        return None
    return Manager(value=info.manager_ref, ref=info.manager_uri, display_name=info.manager_display)


def user_body(record: UserRecord, *, base_url: str, shown: Projection | None = None) -> dict[str, Any]:
    user = scim_user(record, base_url=base_url)
    return user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=shown)


def list_body(page: UserPage, *, base_url: str, shown: Projection | None = None) -> dict[str, Any]:
    response = ListResponse[ScimUser](
        total_results=page.total_results,
        start_index=page.start_index,
        items_per_page=len(page.users),
        resources=[scim_user(record, base_url=base_url) for record in page.users],
    )
    return response.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=shown)
