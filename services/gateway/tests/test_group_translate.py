"""Pure SCIM Group ↔ teams contracts translation, and the member check's wording: no network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scim2_models import Context, ListResponse, SCIMException

from contracts.scim import GROUP_URN, ScimGroup
from contracts.teams import TeamMember, TeamPage, TeamRecord, TeamSource
from services.gateway.membership import unknown_members
from services.gateway.scim.groups.translate import (
    GroupInput,
    GroupProjection,
    group_body,
    group_from_scim,
    group_list_body,
    includes_members,
    scim_group,
)
from services.gateway.scim.listing import projection, search_of

BASE = "https://roster.example/scim/v2"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def group_projection(attributes: str | None, excluded: str | None) -> GroupProjection:
    return projection(GroupProjection, attributes, excluded)


def _team(*members: TeamMember, listed: bool = True, external_id: str | None = "00g1") -> TeamRecord:
    return TeamRecord(
        id="t1",
        display_name="Sales West",
        external_id=external_id,
        source=TeamSource.SCIM,
        linked=True,
        member_count=len(members),
        members=members if listed else None,
        created=NOW,
        last_modified=NOW,
        version=7,
    )


ANN = TeamMember(user_id="u1", display="ann@example.com")
BO = TeamMember(user_id="u2")


def test_okta_create_body() -> None:
    body = {
        "schemas": [GROUP_URN],
        "displayName": "Sales West",
        "externalId": "00g1",
        "members": [{"value": "u1", "display": "ann@example.com"}, {"value": "u2", "type": "User"}],
    }
    assert group_from_scim(body) == GroupInput("Sales West", "00g1", ("u1", "u2"))


def test_empty_members_names_case_insensitive_and_unknown_attributes_ignored() -> None:
    body = {"DISPLAYNAME": "  Spaced  ", "Members": [], "favouriteColour": "teal", "meta": {"x": 1}}
    assert group_from_scim(body) == GroupInput("  Spaced  ", None, ())
    assert group_from_scim({"displayName": "N"}).member_ids == ()
    assert group_from_scim({"schemas": [], "displayName": "N"}).display_name == "N"  # asserts nothing
    assert group_from_scim({"Schemas": ["urn:x", GROUP_URN], "displayName": "N"}).display_name == "N"
    repeated = group_from_scim({"displayName": "N", "members": [{"value": "u1"}, {"value": "u1"}]})
    assert repeated.member_ids == ("u1",)
    qualified = {f"{GROUP_URN}:displayName": "Q", f"{GROUP_URN.upper()}:MEMBERS": [{"value": "u1"}]}
    assert group_from_scim(qualified) == GroupInput("Q", None, ("u1",))  # RFC 7644 §3.10


@pytest.mark.parametrize(
    ("body", "scim_type", "words"),
    [
        ("not an object", "invalidSyntax", "JSON object"),
        ({"members": []}, "invalidValue", "displayName is required"),
        ({"displayName": "   "}, "invalidValue", "displayName is required"),
        ({"displayName": 3}, "invalidValue", "displayName is required"),
        ({"displayName": "N", "externalId": 3}, "invalidValue", "externalId"),
        ({"displayName": "N", "members": "u1"}, "invalidValue", "list of members"),
        ({"displayName": "N", "members": [{"display": "x"}]}, "invalidValue", '"value"'),
        ({"displayName": "N", "members": [{"value": "g", "type": "Group"}]}, "invalidValue", "nested groups"),
        ({"displayName": "\u200b"}, "invalidValue", "displayName is required"),  # a zero-width space
        ({"displayName": "\ufeff\u3164 "}, "invalidValue", "displayName is required"),  # BOM, Hangul filler
        (
            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "N"},
            "invalidValue",
            f"schemas must contain the base schema '{GROUP_URN}'",
        ),
        ({"schemas": ["urn:foo:bar"], "displayName": "N"}, "invalidValue", "base schema"),
        ({"schemas": "not-a-list", "displayName": "N"}, "invalidValue", "valid list: schemas"),
        ({"schemas": [GROUP_URN, 5], "displayName": "N"}, "invalidValue", "valid string: schemas[1]"),
    ],
)
def test_invalid_group_bodies(body: Any, scim_type: str, words: str) -> None:
    with pytest.raises(SCIMException) as caught:
        group_from_scim(body)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)
    assert words in caught.value.detail


def test_rendering_a_team_as_a_group() -> None:
    body = group_body(_team(ANN, BO), base_url=BASE)
    assert body == {
        "schemas": [GROUP_URN],
        "id": "t1",
        "externalId": "00g1",
        "displayName": "Sales West",
        "members": [
            {"value": "u1", "$ref": f"{BASE}/Users/u1", "type": "User"},
            {"value": "u2", "$ref": f"{BASE}/Users/u2", "type": "User"},
        ],
        "meta": {
            "resourceType": "Group",
            "created": "2026-11-22T09:30:00Z",
            "lastModified": "2026-11-22T09:30:00Z",
            "location": f"{BASE}/Groups/t1",
            "version": 'W/"7"',
        },
    }
    ScimGroup.model_validate(body, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def test_members_left_out_by_the_owner_are_omitted_and_external_id_only_when_set() -> None:
    body = group_body(_team(ANN, listed=False, external_id=None), base_url=BASE)
    assert "members" not in body and "externalId" not in body
    assert body["displayName"] == "Sales West"


@pytest.mark.parametrize(
    ("attributes", "excluded", "members"),
    [
        (None, None, True),
        (None, "members", False),  # Entra ID, for every group it reads
        (None, "displayName", True),
        ("displayName", None, False),
        ("displayName,members", None, True),
        ("members.value", None, True),
        (f"{GROUP_URN}:members", None, True),
        (None, f"{GROUP_URN}:Members", False),
    ],
)
def test_which_projections_need_members(attributes: str | None, excluded: str | None, members: bool) -> None:
    assert includes_members(group_projection(attributes, excluded)) is members


def test_projection_of_the_rendered_group() -> None:
    team = _team(ANN)
    without = group_body(team, base_url=BASE, shown=group_projection(None, "members"))
    assert "members" not in without and without["displayName"] == "Sales West"
    only_name = group_body(team, base_url=BASE, shown=group_projection("displayName", None))
    assert only_name == {"schemas": [GROUP_URN], "id": "t1", "displayName": "Sales West"}
    values = group_body(team, base_url=BASE, shown=group_projection("members.value", None))
    assert values["members"] == [{"value": "u1"}]


@pytest.mark.parametrize(
    ("attributes", "excluded"),
    [(None, None), ("members", None), ("displayName,members", None), (None, "externalId"), (None, "meta")],
)
def test_plain_member_rendering_matches_the_model(attributes: str | None, excluded: str | None) -> None:
    """group_body lists members without the model (it costs ~25 µs each); the result is the same."""
    team, shown = _team(ANN, BO), group_projection(attributes, excluded)
    by_model = scim_group(team, base_url=BASE).model_dump(
        scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=shown
    )
    assert group_body(team, base_url=BASE, shown=shown) == by_model


def test_attributes_and_excluded_attributes_together_are_invalid() -> None:
    with pytest.raises(SCIMException) as caught:
        group_projection("displayName", "members")
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_a_search_shows_members_of_groups_unless_it_excludes_them() -> None:
    search = search_of({"excludedAttributes": ["members"]}, max_page_size=200)
    assert includes_members(search.shown(GroupProjection)) is False
    assert includes_members(search_of({}, max_page_size=200).shown(GroupProjection)) is True


def test_list_body_has_integer_counts_and_honours_the_projection() -> None:
    page = TeamPage(total_results=3, start_index=2, teams=(_team(ANN),))
    body = group_list_body(page, base_url=BASE, shown=group_projection(None, "members"))
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (3, 2, 1)
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    [group] = body["Resources"]
    assert group["id"] == "t1" and "members" not in group
    ListResponse[ScimGroup].model_validate(body, scim_ctx=Context.SEARCH_RESPONSE)


def test_unknown_members_detail_names_up_to_five_ids() -> None:
    one = unknown_members(["u1"])
    assert (one.status, one.scim_type) == (400, "invalidValue")
    assert one.detail.startswith('Member "u1" is not a user of this tenant')
    many = unknown_members([f"u{i}" for i in range(8)])
    assert many.detail.startswith('Members "u0", "u1", "u2", "u3", "u4" and 3 more are not users')
    assert '"u5"' not in many.detail
