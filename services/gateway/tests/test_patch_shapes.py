"""A PatchOp read before scim2-models reads it (services/gateway/scim/patch_shapes.py): a field named
twice in different cases is refused, since the library keeps the last spelling and every bound reads
one; the bounds count every attribute name a value carries, whatever its path."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import SCIMException

from contracts.users import UserRecord
from services.gateway.scim.groups.patching import group_patch
from services.gateway.scim.groups.plain_members import MAX_PARSED_PATH_CHARACTERS
from services.gateway.scim.users.bounds import MAX_PATCH_PATH_CHARACTERS, MAX_PATCH_VALUES
from services.gateway.scim.users.patching import parse_patch, patched_profile
from services.gateway.scim.users.translate import profile_from_scim
from services.gateway.tests.test_patching import NOW, PATCH_OP
from tests.okta import user_body

LONG_FILTER = "emails[" + " or ".join(f'value eq "e{i:06}@example.com"' for i in range(400)) + "].type"


def _user_patch(body: dict[str, Any]) -> None:
    user = UserRecord(
        id="u1",
        profile=profile_from_scim(user_body("ann@example.com")),
        created=NOW,
        last_modified=NOW,
        version=1,
    )
    patched_profile(user, parse_patch(body))


def _refused(call: Any) -> tuple[int | None, str | None, str]:
    with pytest.raises(SCIMException) as caught:
        call()
    return caught.value.status, caught.value.scim_type, str(caught.value.detail)


@pytest.mark.parametrize("patch", [_user_patch, lambda body: group_patch(body, team_id="t1")])
def test_a_field_named_twice_in_different_cases_is_refused(patch: Any) -> None:
    title = {"op": "replace", "path": "displayName", "value": "x"}
    assert _refused(lambda: patch({"schemas": [PATCH_OP], "Operations": [title], "operations": [title]})) == (
        400,
        "invalidSyntax",
        'The PatchOp names "Operations" twice (as "operations"): names are case-insensitive.',
    )
    twice = {**title, "PATH": LONG_FILTER}
    assert _refused(lambda: patch({"schemas": [PATCH_OP], "Operations": [title, twice]})) == (
        400,
        "invalidSyntax",
        'PATCH Operations.1 names "path" twice (as "PATH"): names are case-insensitive.',
    )


def test_a_user_patch_counts_every_name_its_values_carry_whatever_the_path() -> None:
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    for operation, characters in (
        ({"op": "replace", "path": "", "value": {LONG_FILTER: "home"}}, len(LONG_FILTER)),
        ({"op": "replace", "value": {enterprise: {LONG_FILTER: "x"}}}, len(enterprise) + len(LONG_FILTER)),
        ({"op": "replace", "path": "name", "value": {LONG_FILTER: "x"}}, len("name") + len(LONG_FILTER)),
    ):
        assert _refused(
            lambda operation=operation: _user_patch({"schemas": [PATCH_OP], "Operations": [operation]})
        ) == (
            400,
            "invalidValue",
            f"A PATCH's paths and path-less attribute names hold at most {MAX_PATCH_PATH_CHARACTERS}"
            f" characters, not {characters}: send the changes in several requests.",
        )
    values: list[dict[str, str]] = [{}] * (MAX_PATCH_VALUES + 1)
    capitalised = {"op": "add", "path": "emails", "Value": values}
    assert _refused(lambda: _user_patch({"schemas": [PATCH_OP], "Operations": [capitalised]}))[2] == (
        f"A PATCH carries at most {MAX_PATCH_VALUES} values, not {MAX_PATCH_VALUES + 1}:"
        " send the changes in several requests."
    )


def test_a_group_patch_counts_the_names_of_a_value_under_an_empty_path() -> None:
    operation = {"op": "replace", "path": "", "value": {LONG_FILTER: "x", LONG_FILTER.upper(): "y"}}
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": "n"}, operation],
    }
    characters = len("displayName") + 2 * len(LONG_FILTER)
    assert _refused(lambda: group_patch(body, team_id="t1")) == (
        400,
        "invalidValue",
        f"A Group PATCH's paths and path-less attribute names hold at most {MAX_PARSED_PATH_CHARACTERS}"
        f" characters besides those adding and removing members, not {characters}: send the changes in"
        " several requests.",
    )


def test_a_user_body_list_longer_than_an_attribute_may_hold_is_refused_before_it_is_read() -> None:
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    for body, name in (
        ({**user_body("ann@example.com"), "addresses": [{}] * 101}, "addresses"),
        ({**user_body("ann@example.com"), enterprise: {"costCenters": ["x"] * 150}}, "costCenters"),
    ):
        count = 101 if name == "addresses" else 150
        assert _refused(lambda body=body: profile_from_scim(body)) == (
            400,
            "invalidValue",
            f"{name} holds at most 100 values, not {count}.",
        )
    profile_from_scim({**user_body("ann@example.com"), "addresses": [{}] * 100})  # as many as a user may hold
