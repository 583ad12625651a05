"""Pure translation between SCIM Groups (RFC 7643 §4.2) and the teams contracts.

Tolerant on the way in (attribute names are case-insensitive, RFC 7643 §2.1; unknown attributes are
ignored, RFC 7644 §3.3), strict on the way out. Members are users only: Roster has no nested teams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    GroupMember,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    Path,
    ResponseParameters,
)
from scim2_models.path import AttributeBinding

from contracts.rendering import location, meta_of
from contracts.scim import GROUP_URN, ScimGroup
from contracts.teams import TeamMember, TeamPage, TeamRecord
from contracts.text import is_blank
from services.gateway.http.errors import refusal

GroupProjection = ResponseParameters[ScimGroup]
GroupList = ListResponse[ScimGroup]  # held for the reason UserList is (scim/users/translate.py)
_MEMBERS = "members"


@dataclass(frozen=True)
class GroupInput:
    """A POST or PUT /Groups body, reduced to what a team keeps."""

    display_name: str
    external_id: str | None
    member_ids: tuple[str, ...]


_QUALIFIER = f"{GROUP_URN}:".lower()


def fields_of(value: dict[str, Any]) -> dict[str, Any]:
    """Attribute names in lower case (RFC 7643 §2.1: case-insensitive), a Group attribute's name
    qualified by the schema's URN (RFC 7644 §3.10, as Entra ID qualifies a User's) as its short name."""
    return {key.lower().removeprefix(_QUALIFIER): item for key, item in value.items()}


def display_name_of(value: Any) -> str:
    if not isinstance(value, str) or is_blank(value):
        raise InvalidValueException(detail="displayName is required: a non-empty string naming the team.")
    return value


def external_id_of(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidValueException(detail="externalId must be a string.")
    return value


def member_ids_of(value: Any, *, where: str = _MEMBERS) -> tuple[str, ...]:
    """A members value: ``[{"value": id, "display"?, "type"?, "$ref"?}, …]`` (one object alone is
    tolerated), as user ids in first-seen order without repeats."""
    if value is None:
        return ()
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InvalidValueException(
            detail=f'{where} must be a list of members such as [{{"value": "<user id>"}}].'
        )
    ids: list[str] = []
    for item in items:
        fields = fields_of(item)
        member = fields.get("value")
        if not isinstance(member, str) or not member:
            raise InvalidValueException(detail=f'{where}: every member needs a "value" holding a user id.')
        kind = fields.get("type")
        if isinstance(kind, str) and kind.lower() == "group":
            raise InvalidValueException(
                detail=f'{where}: nested groups are not supported (member "{member}" is a Group);'
                " push the group's users instead."
            )
        ids.append(member)
    return tuple(dict.fromkeys(ids))


def _check_schemas(value: Any) -> None:
    """``schemas`` as scim2-models judges a Group's (RFC 7643 §3), in its words: omitted or empty it
    asserts nothing; given, it must hold the Group schema. The rest of the body is read by hand above."""
    if value is not None:
        try:
            ScimGroup.model_validate({"schemas": value})
        except ValidationError as error:
            raise refusal(error) from None


def group_from_scim(body: Any) -> GroupInput:
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object (a SCIM Group).")
    fields = fields_of(body)
    _check_schemas(fields.get("schemas"))
    return GroupInput(
        display_name=display_name_of(fields.get("displayname")),
        external_id=external_id_of(fields.get("externalid")),
        member_ids=member_ids_of(fields.get(_MEMBERS)),
    )


def _members_binding(path: Path[ScimGroup]) -> AttributeBinding | None:
    """The binding of a projection path naming ``members`` or one of its sub-attributes."""
    binding = path.resolve()
    return binding if binding is not None and binding.field_name == _MEMBERS else None


def _names_members(path: Path[ScimGroup]) -> bool:
    return _members_binding(path) is not None


def includes_members(shown: GroupProjection | None) -> bool:
    """Whether the response shows members, so the teams service can leave them out (Entra asks with
    ``excludedAttributes=members`` for every group it reads)."""
    if shown is None:
        return True
    if shown.attributes:
        return any(_names_members(path) for path in shown.attributes)
    return not any(_names_members(path) for path in shown.excluded_attributes or ())


def scim_group(team: TeamRecord, *, base_url: str) -> ScimGroup:
    """Members without ``display``: the IdP's display is not kept, and a different one (the userName)
    would make a client that compares what it wrote with what it reads see a change (scim2-tester)."""
    members = None
    if team.members is not None:
        members = [
            GroupMember(value=member.user_id, ref=location(base_url, "Users", member.user_id), type="User")
            for member in team.members
        ]
    return ScimGroup(
        id=team.id,
        external_id=team.external_id,
        display_name=team.display_name,
        members=members,
        meta=meta_of(team, resource_type="Group", endpoint="Groups", base_url=base_url),
    )


def _whole_members(shown: GroupProjection | None) -> bool:
    """True unless the projection picks members' sub-attributes (``members.value``)."""
    paths = [*(shown.attributes or ()), *(shown.excluded_attributes or ())] if shown else []
    return not any((binding := _members_binding(path)) and binding.sub_field_name for path in paths)


def _member_dicts(team: TeamRecord, *, base_url: str) -> list[dict[str, str]]:
    return [
        {"value": m.user_id, "$ref": location(base_url, "Users", m.user_id), "type": "User"}
        for m in team.members or ()
    ]


def group_body(team: TeamRecord, *, base_url: str, shown: GroupProjection | None = None) -> dict[str, Any]:
    if team.members and includes_members(shown) and _whole_members(shown):
        # The model dumps ~25 µs per member: a 10,000-member group would spend 250 ms on it.
        body = group_body(team.model_copy(update={"members": None}), base_url=base_url, shown=shown)
        return body | {"members": _member_dicts(team, base_url=base_url)}
    group = scim_group(team, base_url=base_url)
    return group.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=shown)


def member_items(
    team: TeamRecord, members: Sequence[TeamMember], *, base_url: str, shown: GroupProjection | None = None
) -> list[Any]:
    """One page of a group's members as its body lists them (a group too large to read at once)."""
    paged = team.model_copy(update={"members": tuple(members)})
    return list(group_body(paged, base_url=base_url, shown=shown).get("members", []))


def group_list_body(page: TeamPage, *, base_url: str, shown: GroupProjection | None = None) -> dict[str, Any]:
    response = GroupList(
        total_results=page.total_results, start_index=page.start_index, items_per_page=len(page.teams)
    )
    body = response.model_dump(scim_ctx=Context.SEARCH_RESPONSE)
    return body | {"Resources": [group_body(team, base_url=base_url, shown=shown) for team in page.teams]}
