"""Okta's Push Groups story over HTTP, through the gateway, users and teams services on real Kafka."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.stack import Stack, Tenant
from tests.teams_client import (
    GROUP,
    PATCH_OP,
    admin_teams,
    create_user,
    eventually,
    group_members,
    member_ref,
    patch_group,
    stays,
)
from tests.test_scim_users_e2e import _assert_error

pytestmark = pytest.mark.slow


def _portal_team(stack: Stack, tenant: Tenant, name: str, *members: str) -> str:
    with stack.admin() as admin:
        created = admin.post(
            f"/tenants/{tenant.id}/teams", json={"display_name": name, "member_ids": list(members)}
        )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def test_okta_push_link_patch_push_now_and_delete(stack: Stack, tenant: Tenant, scim: httpx.Client) -> None:
    a, b, c, d = (create_user(scim, f"{name}@push.example") for name in "abcd")
    team_id = _portal_team(stack, tenant, "Sales West", a)

    # Okta looks the group up by name first; names compare case-insensitively.
    found = scim.get(
        "/Groups", params={"filter": 'displayName eq "sales west"', "startIndex": "1", "count": "100"}
    )
    assert found.status_code == 200 and found.json()["totalResults"] == 1

    pushed = scim.post(
        "/Groups", json={"schemas": [GROUP], "displayName": "SALES WEST", "members": [member_ref(b)]}
    )
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["id"] == team_id  # linked, not created
    assert pushed.headers["location"].endswith(f"/Groups/{team_id}")
    assert group_members(scim, team_id) == {a, b}

    # One-way sync: the portal can no longer change it.
    with stack.admin() as admin:
        refused = admin.post(f"/tenants/{tenant.id}/teams/{team_id}/members", json={"add": [c]})
        assert refused.status_code == 400 and "identity provider" in refused.json()["detail"]
        [linked] = [t for t in admin_teams(admin, tenant.id, "portal") if t["id"] == team_id]
        assert linked["linked"] is True
    assert group_members(scim, team_id) == {a, b}

    # A membership update: removes and adds mixed, with the path-less rename Okta always sends.
    changed = patch_group(
        scim,
        team_id,
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        {"op": "add", "path": "members", "value": [member_ref(c), member_ref(d)]},
        {"op": "replace", "value": {"id": team_id, "displayName": "Sales West Coast"}},
    )
    assert changed.status_code in (200, 204), changed.text
    stored = scim.get(f"/Groups/{team_id}").json()
    assert stored["displayName"] == "Sales West Coast"
    assert {m["value"] for m in stored["members"]} == {b, c, d}

    # A member that is not a user of this tenant: refused, nothing changed.
    wrong = patch_group(
        scim, team_id, {"op": "add", "path": "members", "value": [member_ref("no-such-user")]}
    )
    _assert_error(wrong, 400, "invalidValue")
    assert "no-such-user" in wrong.json()["detail"]
    assert group_members(scim, team_id) == {b, c, d}

    # Push Now: the whole list.
    assert patch_group(
        scim, team_id, {"op": "replace", "path": "members", "value": [member_ref(b)]}
    ).status_code in (200, 204)
    assert group_members(scim, team_id) == {b}

    # A path-less rename whose key carries the schema's URN (RFC 7644 §3.10).
    qualified = {f"{GROUP}:displayName": "Sales West Inside"}
    assert patch_group(scim, team_id, {"op": "replace", "value": qualified}).status_code in (200, 204)
    assert scim.get(f"/Groups/{team_id}").json()["displayName"] == "Sales West Inside"

    # Entra asks without members.
    slim = scim.get(f"/Groups/{team_id}", params={"excludedAttributes": "members"})
    assert slim.status_code == 200 and "members" not in slim.json()

    # Unlink with "delete the group in the target app": the team goes, its users stay.
    assert scim.delete(f"/Groups/{team_id}").status_code == 204
    _assert_error(scim.get(f"/Groups/{team_id}"), 404, None)
    assert scim.get(f"/Users/{b}").status_code == 200


def test_a_pushed_group_creates_a_team_and_names_stay_unique(
    stack: Stack, tenant: Tenant, scim: httpx.Client
) -> None:
    user = create_user(scim, "solo@push.example")
    created = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Inside Sales", "members": []})
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    assert patch_group(
        scim, group_id, {"op": "add", "path": "members", "value": [member_ref(user)]}
    ).status_code in (200, 204)
    assert group_members(scim, group_id) == {user}

    again = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "inside sales", "members": []})
    _assert_error(again, 409, "uniqueness")
    assert scim.get("/Groups", params={"filter": 'displayName eq "INSIDE SALES"'}).json()["totalResults"] == 1


def test_two_unlinked_teams_of_that_name_are_a_clash(
    stack: Stack, tenant: Tenant, scim: httpx.Client
) -> None:
    first = _portal_team(stack, tenant, "Ops")
    second = _portal_team(stack, tenant, "OPS")
    clash = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "ops", "members": []})
    _assert_error(clash, 409, "uniqueness")
    assert first in clash.json()["detail"] and second in clash.json()["detail"]
    with stack.admin() as admin:
        portal = {t["id"]: t["linked"] for t in admin_teams(admin, tenant.id, "portal")}
    assert portal == {first: False, second: False}


def test_group_requests_okta_and_entra_make_on_connect(scim: httpx.Client) -> None:
    plain = scim.get("/Groups")
    assert plain.status_code == 200 and plain.json()["totalResults"] == 0
    paged = scim.get("/Groups", params={"startIndex": "1", "count": "100"})
    assert paged.json()["itemsPerPage"] == 0 and paged.json()["startIndex"] == 1
    _assert_error(scim.get("/Groups", params={"filter": 'nickName eq "x"'}), 400, "invalidFilter")


def test_a_write_to_an_unknown_group_is_404_even_with_unknown_members(scim: httpx.Client) -> None:
    add_stranger = {"op": "add", "path": "members", "value": [member_ref("no-such-user")]}
    _assert_error(patch_group(scim, "no-such-group", add_stranger), 404, None)
    body = {"schemas": [GROUP], "displayName": "Ghost", "members": [member_ref("no-such-user")]}
    _assert_error(scim.put("/Groups/no-such-group", json=body), 404, None)
    assert scim.get("/Groups", params={"filter": 'displayName eq "Ghost"'}).json()["totalResults"] == 0


def test_deactivated_members_stay_until_okta_removes_them_deleted_ones_leave(
    stack: Stack, tenant: Tenant, scim: httpx.Client
) -> None:
    keeper, leaver = (create_user(scim, f"{name}@stay.example") for name in ("keeper", "leaver"))
    pushed = scim.post(
        "/Groups",
        json={
            "schemas": [GROUP],
            "displayName": "Stayers",
            "members": [member_ref(keeper), member_ref(leaver)],
        },
    )
    group_id = pushed.json()["id"]
    deactivate = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}
    assert scim.patch(f"/Users/{keeper}", json=deactivate).status_code == 200
    assert scim.delete(f"/Users/{leaver}").status_code == 204
    # The teams service follows the users events: the deleted user leaves; the deactivated one stays.
    assert eventually(lambda: group_members(scim, group_id), {keeper}) == {keeper}
    stays(lambda: group_members(scim, group_id), {keeper}, seconds=1)


def test_the_root_search_lists_users_then_groups_and_pages_across_them(scim: httpx.Client) -> None:
    """RFC 7644 §3.4.3: one search over every resource type; paging runs over Users, then Groups."""
    first, second = (create_user(scim, f"{name}@root-search.example") for name in ("first", "second"))
    made = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Root search team"})
    assert made.status_code == 201, made.text
    every = scim.post("/.search", json={"attributes": ["id"]})
    assert every.status_code == 200, every.text
    assert [r["id"] for r in every.json()["Resources"]] == [first, second, made.json()["id"]]
    page = scim.post("/.search", json={"startIndex": 2, "count": 2, "attributes": ["id"]}).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (3, 2, 2)
    assert [r["id"] for r in page["Resources"]] == [second, made.json()["id"]]
    # A filter only Users understand finds users; Groups simply have no match.
    named = scim.post("/.search", json={"filter": 'userName sw "first"'}).json()
    assert [r["id"] for r in named["Resources"]] == [first]
    # The two types share no order, so a sort is refused rather than given per type.
    for sort_by in ("displayName", "userName", "meta.created"):
        refused = scim.post("/.search", json={"sortBy": sort_by})
        _assert_error(refused, 400, "invalidValue")
        assert refused.json()["detail"] == (
            "sortBy is not supported on the root /.search, which lists Users and Groups together;"
            " sort with /Users/.search or /Groups/.search."
        )


def test_a_group_body_naming_another_schema_or_no_visible_name_is_refused_and_changes_nothing(
    scim: httpx.Client,
) -> None:
    created = scim.post("/Groups", json={"schemas": [GROUP], "displayName": "Delta", "members": []})
    assert created.status_code == 201, created.text
    group_id, version = created.json()["id"], created.json()["meta"]["version"]
    user_schema = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "Echo"}
    refused = scim.post("/Groups", json=user_schema)
    _assert_error(refused, 400, "invalidValue")
    assert refused.json()["detail"] == f"schemas must contain the base schema '{GROUP}'"
    _assert_error(
        scim.put(f"/Groups/{group_id}", json={**user_schema, "displayName": "Delta"}), 400, "invalidValue"
    )
    _assert_error(
        scim.post("/Groups", json={"schemas": [GROUP], "displayName": "\u200b"}), 400, "invalidValue"
    )
    listed = scim.get("/Groups").json()
    assert [(g["displayName"], g["meta"]["version"]) for g in listed["Resources"]] == [("Delta", version)]


def test_a_group_patch_over_the_parsing_bounds_changes_nothing_but_thousands_of_member_changes_pass(
    scim: httpx.Client,
) -> None:
    a, b = (create_user(scim, f"{name}@bounds.example") for name in "ab")
    created = scim.post(
        "/Groups", json={"schemas": [GROUP], "displayName": "Foxtrot", "members": [member_ref(a)]}
    )
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    before = scim.get(f"/Groups/{group_id}").json()

    renames = [{"op": "replace", "path": "displayName", "value": f"Foxtrot {i}"} for i in range(1001)]
    refused = patch_group(scim, group_id, *renames)
    _assert_error(refused, 400, "invalidValue")
    assert refused.json()["detail"] == (
        "A Group PATCH holds at most 1000 operations besides adding and removing members (each attribute"
        " of a path-less value, and each key of a member removed by value, counts as one), not 1001: send"
        " the changes in several requests."
    )
    assert scim.get(f"/Groups/{group_id}").json() == before

    # Okta's and Entra's membership operations are not counted: 3,000 of them and the rename pass.
    churn: list[dict[str, Any]] = [
        {"op": "remove", "path": f'members[value eq "gone-{i}"]'} for i in range(1500)
    ]
    churn += [{"op": "Remove", "path": "members", "value": [{"value": f"left-{i}"}]} for i in range(1500)]
    changed = patch_group(
        scim,
        group_id,
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        *churn,
        {"op": "add", "path": "members", "value": [member_ref(b)]},
        {"op": "replace", "value": {"id": group_id, "displayName": "Foxtrot Two"}},
    )
    assert changed.status_code in (200, 204), changed.text
    stored = scim.get(f"/Groups/{group_id}").json()
    assert (stored["displayName"], [m["value"] for m in stored["members"]]) == ("Foxtrot Two", [b])
