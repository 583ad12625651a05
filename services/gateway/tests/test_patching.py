"""Every PATCH shape Okta and Entra send (docs/scim-clients.md), applied purely to a user."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from scim2_models import SCIMException

from contracts.users import RosterRole, UserProfile, UserRecord
from services.gateway.scim.users.bounds import (
    MAX_PATCH_OPERATIONS,
    MAX_PATCH_PATH_CHARACTERS,
    MAX_PATCH_VALUES,
    MAX_VALUES_PER_ATTRIBUTE,
)
from services.gateway.scim.users.patching import parse_patch, patched_profile
from services.gateway.scim.users.translate import profile_from_scim
from services.gateway.scim.users.value_work import MAX_VALUES_GONE_THROUGH
from tests.okta import ENTERPRISE, user_body

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ROSTER = "urn:roster:params:scim:schemas:extension:roster:2.0:User"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _user() -> UserRecord:
    profile = profile_from_scim(user_body("ann@example.com"))
    return UserRecord(id="u1", profile=profile, created=NOW, last_modified=NOW, version=1)


def _apply(*operations: dict[str, Any]) -> UserProfile:
    return patched_profile(_user(), parse_patch({"schemas": [PATCH_OP], "Operations": list(operations)}))


def test_okta_deactivate_path_less() -> None:
    assert _apply({"op": "replace", "value": {"active": False}}).active is False


@pytest.mark.parametrize("value", ["False", "false", False])
def test_entra_capitalised_op_and_boolean_as_string(value: object) -> None:
    assert _apply({"op": "Replace", "path": "active", "value": value}).active is False


def test_value_filter_paths() -> None:
    by_type = _apply({"op": "replace", "path": 'emails[type eq "work"].value', "value": "w@example.com"})
    assert [e.value for e in by_type.emails] == ["w@example.com"]
    by_primary = _apply({"op": "replace", "path": "emails[primary eq true].value", "value": "p@example.com"})
    assert [e.value for e in by_primary.emails] == ["p@example.com"]


def test_entra_dotted_and_urn_qualified_path_less_keys() -> None:
    profile = _apply(
        {
            "op": "Replace",
            "value": {"name.givenName": "Zed", f"{ENTERPRISE}:employeeNumber": "E-99", "title": "VP"},
        }
    )
    assert profile.name is not None and profile.name.given_name == "Zed"
    assert profile.enterprise is not None and profile.enterprise.employee_number == "E-99"
    assert profile.title == "VP"


def test_entra_path_less_key_with_a_value_filter_is_applied_as_its_path() -> None:
    profile = _apply(
        {
            "op": "Replace",
            "value": {
                'emails[type eq "work"].value': "new@example.com",
                "name.givenName": "Zed",
                'phoneNumbers[type eq "mobile"].value': "+1 555 0100",  # none yet: one is made
            },
        }
    )
    assert [(e.value, e.type) for e in profile.emails] == [("new@example.com", "work")]
    assert profile.name is not None and profile.name.given_name == "Zed"
    assert [(p.value, p.type) for p in profile.phone_numbers] == [("+1 555 0100", "mobile")]


def test_operation_fields_in_any_letter_case_are_split_and_normalised_alike() -> None:
    split = _apply({"Op": "Replace", "Value": {'emails[type eq "work"].value': "cap@example.com"}})
    assert [e.value for e in split.emails] == ["cap@example.com"]
    with_a_path = _apply({"OP": "replace", "Path": "title", "VALUE": "VP"})  # a path: nothing to split
    assert with_a_path.title == "VP"
    manager = _apply({"op": "Add", "PATH": "manager", "Value": [{"value": "m-1"}]})
    assert manager.enterprise is not None and manager.enterprise.manager_ref == "m-1"


def test_an_error_names_the_operation_as_sent_not_as_split() -> None:
    split_first = {"op": "replace", "value": {'emails[type eq "work"].value': "a@example.com", "title": "b"}}
    with pytest.raises(SCIMException) as refused:
        _apply(split_first, {"path": "title", "value": "x"})
    assert (refused.value.scim_type, refused.value.detail) == (
        "invalidValue",
        "Field required: Operations[1].op",
    )


CUSTOM = "urn:ietf:params:scim:schemas:extension:custom:2.0:User"


@pytest.mark.parametrize(
    "path", [f"{CUSTOM}:costCode", f"{CUSTOM}:badge.number", f'{CUSTOM}:tags[value eq "a:b"]', CUSTOM]
)
def test_entra_custom_extension_paths_are_ignored_and_the_rest_applies(path: str) -> None:
    """Entra ID sends each mapped custom attribute as an operation of its own, beside the deactivation."""
    profile = _apply(
        {"op": "Replace", "path": path, "value": "B2"}, {"op": "Replace", "path": "active", "value": "False"}
    )
    assert profile.active is False
    assert profile == _user().profile.model_copy(update={"active": False})


@pytest.mark.parametrize(
    "path",
    [
        "favoriteColor",
        "urn:ietf:params:scim:schemas:core:2.0:User:favoriteColor",
        f"{ENTERPRISE}:shoeSize",
        f"{ROSTER}:level",
    ],
)
def test_a_path_naming_no_attribute_of_the_users_schemas_is_refused(path: str) -> None:
    with pytest.raises(SCIMException) as refused:
        _apply(
            {"op": "replace", "path": path, "value": "x"}, {"op": "replace", "path": "active", "value": False}
        )
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidPath")
    assert refused.value.detail == f"'{path}' is not an attribute of the User schema"


def test_a_path_less_key_with_a_value_filter_naming_no_attribute_is_refused() -> None:
    with pytest.raises(SCIMException) as refused:
        _apply({"op": "replace", "value": {'nickNames[type eq "x"].value': "a", "title": "VP"}})
    assert (refused.value.status, refused.value.scim_type) == (400, "invalidPath")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "m-1"}},
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "m-1"},  # Entra: a bare string
        {"op": "Add", "path": "manager", "value": [{"value": "m-1"}]},  # Entra: add with a list
        {"op": "replace", "value": {f"{ENTERPRISE}:manager": "m-1"}},
        {"op": "replace", "value": {ENTERPRISE: {"manager": "m-1"}}},
    ],
)
def test_every_manager_shape(operation: dict[str, Any]) -> None:
    profile = _apply(operation)
    assert profile.enterprise is not None and profile.enterprise.manager_ref == "m-1"


def _managed_by_boss() -> UserRecord:
    body = user_body("ann@example.com")
    body[ENTERPRISE]["manager"] = {"value": "boss", "displayName": "Boss Person", "$ref": "../Users/boss"}
    profile = profile_from_scim(body)
    return UserRecord(id="u1", profile=profile, created=NOW, last_modified=NOW, version=1)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": "carol"},  # Entra: a bare string
        {"op": "replace", "path": f"{ENTERPRISE}:manager.value", "value": "carol"},
        {"op": "replace", "path": "manager", "value": {"value": "carol"}},
    ],
)
def test_another_manager_does_not_keep_the_previous_ones_name(operation: dict[str, Any]) -> None:
    request = parse_patch({"schemas": [PATCH_OP], "Operations": [operation]})
    enterprise = patched_profile(_managed_by_boss(), request).enterprise
    assert enterprise is not None
    assert (enterprise.manager_ref, enterprise.manager_display, enterprise.manager_uri) == (
        "carol",
        None,
        None,
    )


def test_the_same_manager_keeps_its_name() -> None:
    request = parse_patch(
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "VP"}]}
    )
    enterprise = patched_profile(_managed_by_boss(), request).enterprise
    assert enterprise is not None
    assert (enterprise.manager_ref, enterprise.manager_display) == ("boss", "Boss Person")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "manager", "value": {"value": "carol", "displayName": "Carol C"}},
        {
            "op": "replace",
            "path": f"{ENTERPRISE}:manager",
            "value": {"value": "carol", "displayName": "Carol C"},
        },
        {"op": "Add", "path": "manager", "value": [{"value": "carol", "displayName": "Carol C"}]},
        {"op": "replace", "value": {ENTERPRISE: {"manager": {"value": "carol", "displayName": "Carol C"}}}},
        {
            "op": "replace",
            "path": ENTERPRISE,
            "value": {"manager": {"value": "carol", "displayName": "Carol C"}},
        },
        {"op": "replace", "value": {"manager": {"value": "carol", "displayName": "Carol C"}}},
    ],
)
def test_a_manager_sent_with_its_display_name_keeps_it_as_a_put_does(operation: dict[str, Any]) -> None:
    """scim2-models holds manager.displayName read-only; Roster stores it as sent on every write."""
    request = parse_patch({"schemas": [PATCH_OP], "Operations": [operation]})
    enterprise = patched_profile(_managed_by_boss(), request).enterprise
    assert enterprise is not None
    assert (enterprise.manager_ref, enterprise.manager_display) == ("carol", "Carol C")


@pytest.mark.parametrize(
    ("operation", "display"),
    [
        ({"op": "replace", "path": "manager.displayName", "value": "The Boss"}, "The Boss"),
        ({"op": "replace", "path": f"{ENTERPRISE}:manager.displayName", "value": "The Boss"}, "The Boss"),
        ({"op": "replace", "path": "manager", "value": {"displayName": "The Boss"}}, "The Boss"),
        ({"op": "remove", "path": "manager.displayName"}, None),
    ],
)
def test_the_managers_display_name_alone_changes_only_it(
    operation: dict[str, Any], display: str | None
) -> None:
    request = parse_patch({"schemas": [PATCH_OP], "Operations": [operation]})
    enterprise = patched_profile(_managed_by_boss(), request).enterprise
    assert enterprise is not None
    assert (enterprise.manager_ref, enterprise.manager_uri, enterprise.manager_display) == (
        "boss",
        "../Users/boss",
        display,
    )


def test_a_display_name_sent_with_a_manager_replaced_later_in_the_patch_is_not_kept() -> None:
    request = parse_patch(
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "replace", "path": "manager", "value": {"value": "carol", "displayName": "Carol C"}},
                {"op": "replace", "path": "manager", "value": "dave"},
            ],
        }
    )
    enterprise = patched_profile(_managed_by_boss(), request).enterprise
    assert enterprise is not None
    assert (enterprise.manager_ref, enterprise.manager_display) == ("dave", None)


def test_a_manager_display_name_that_is_not_a_string_is_invalid_value() -> None:
    with pytest.raises(SCIMException) as caught:
        parse_patch(
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "manager.displayName", "value": 7}],
            }
        )
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Remove", "path": f"{ENTERPRISE}:manager"},
        {"op": "Remove", "path": f"{ENTERPRISE}:manager", "value": [{"value": "boss@example.com"}]},  # Entra
        {"op": "remove", "path": "manager", "value": {"value": "someone-else"}},  # single-valued: all of it
        {"op": "remove", "path": "manager", "value": "boss@example.com"},
        {"op": "Remove", "path": 'manager[value eq "boss@example.com"]'},  # Entra: a value filter
        {"op": "remove", "path": f'{ENTERPRISE}:Manager[Value EQ "boss@example.com"]'},
        {"op": "replace", "path": "manager", "value": {"value": None}},  # a manager with no value
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": None},
    ],
)
def test_every_shape_of_a_manager_removal_clears_it(operation: dict[str, Any]) -> None:
    had = _user().profile.enterprise
    assert had is not None and had.manager_ref == "boss@example.com"
    profile = _apply(operation)
    assert profile.enterprise is None or profile.enterprise.manager_ref is None


_BY_FILTER = 'manager[value eq "{}"]'


@pytest.mark.parametrize(
    ("operations", "left"),
    [
        ([{"op": "remove", "path": "manager"}, {"op": "remove", "path": _BY_FILTER.format("other")}], None),
        (
            [
                {"op": "remove", "path": _BY_FILTER.format("boss@example.com")},
                {"op": "remove", "path": _BY_FILTER.format("zzz")},
            ],
            None,
        ),
        (  # each removal is judged on the user as the operations before it left it (RFC 7644 §3.5.2)
            [
                {"op": "replace", "path": "manager", "value": "new"},
                {"op": "remove", "path": _BY_FILTER.format("new")},
            ],
            None,
        ),
        (
            [
                {"op": "replace", "path": "manager", "value": "new"},
                {"op": "remove", "path": _BY_FILTER.format("boss@example.com")},
            ],
            "new",
        ),
        ([{"op": "remove", "path": _BY_FILTER.format("boss\\u0040example.com")}], None),  # a JSON escape
    ],
)
def test_removals_by_filter_are_judged_one_at_a_time_in_order(
    operations: list[dict[str, Any]], left: str | None
) -> None:
    profile = _apply(*operations)
    assert (profile.enterprise.manager_ref if profile.enterprise else None) == left


def test_a_removal_filtered_on_another_manager_removes_nothing() -> None:
    """RFC 7644 §3.5.2.2: a filter that matches nothing leaves the attribute as it is."""
    profile = _apply(
        {"op": "remove", "path": 'manager[value eq "not-the-manager"]'},
        {"op": "replace", "path": "title", "value": "VP"},
    )
    assert profile.enterprise is not None and profile.enterprise.manager_ref == "boss@example.com"
    assert profile.title == "VP"


def test_add_and_remove() -> None:
    added = _apply({"op": "add", "path": "emails", "value": [{"value": "home@example.com", "type": "home"}]})
    assert [e.type for e in added.emails] == ["work", "home"]
    assert _apply({"op": "remove", "path": "title"}).title is None
    removed = _apply({"op": "remove", "path": 'emails[type eq "work"]'})
    assert removed.emails == ()


def test_user_name_can_change() -> None:
    assert (
        _apply({"op": "replace", "path": "userName", "value": "new@example.com"}).user_name
        == "new@example.com"
    )


def test_roles_through_scim_roles_or_the_roster_extension() -> None:
    assert _apply(
        {"op": "replace", "path": "roles", "value": [{"value": "Coach", "primary": True}]}
    ).role == (RosterRole.COACH)
    assert _apply({"op": "replace", "path": f"{ROSTER}:role", "value": "manager"}).role == RosterRole.MANAGER
    assert _apply({"op": "replace", "path": "title", "value": "t"}).role == RosterRole.LEARNER


def test_several_operations_apply_in_order() -> None:
    profile = _apply(
        {"op": "replace", "path": "displayName", "value": "One"},
        {"op": "replace", "path": "displayName", "value": "Two"},
        {"op": "replace", "value": {"active": False}},
    )
    assert (profile.display_name, profile.active) == ("Two", False)


def test_an_extensions_attribute_named_bare_is_its_own_as_a_path_or_a_path_less_key() -> None:
    """RFC 7644 §3.10: the URN may be left out where one extension alone has the name."""
    by_path = _apply(
        {"op": "replace", "path": "department", "value": "Audit"},
        {"op": "add", "path": "EMPLOYEENUMBER", "value": "E-2"},
        {"op": "replace", "path": "role", "value": "coach"},
    )
    assert by_path.enterprise is not None
    assert (by_path.enterprise.department, by_path.enterprise.employee_number) == ("Audit", "E-2")
    assert by_path.roster_role is RosterRole.COACH
    by_key = _apply({"op": "replace", "value": {"department": "Legal", "costCenter": "CC-9", "title": "VP"}})
    assert by_key.enterprise is not None and by_key.title == "VP"
    assert (by_key.enterprise.department, by_key.enterprise.cost_center) == ("Legal", "CC-9")


@pytest.mark.parametrize("key", ["manager.displayName", f"{ENTERPRISE}:manager.displayName"])
def test_the_managers_display_name_as_a_path_less_key_is_stored_as_by_its_path(key: str) -> None:
    profile = _apply({"op": "replace", "value": {key: "Boss B", "title": "T"}})
    assert profile.enterprise is not None and profile.title == "T"
    assert (profile.enterprise.manager_ref, profile.enterprise.manager_display) == (
        "boss@example.com",
        "Boss B",
    )


def test_unknown_keys_in_a_path_less_value_are_ignored() -> None:
    assert (
        _apply({"op": "replace", "value": {"displayName": "D", "favouriteColour": "teal"}}).display_name
        == "D"
    )


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        ([], 400, "invalidSyntax"),
        ({"schemas": [PATCH_OP]}, 400, "invalidValue"),
        ({"schemas": [PATCH_OP], "Operations": []}, 400, "invalidValue"),
        (
            {"schemas": [PATCH_OP], "Operations": [{"op": "jump", "path": "title", "value": "x"}]},
            400,
            "invalidValue",
        ),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title"}]}, 400, "invalidValue"),
        (
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "shoeSize", "value": 1}]},
            400,
            "invalidPath",
        ),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "userName"}]}, 400, "mutability"),
    ],
)
def test_invalid_patches(body: Any, status: int, scim_type: str) -> None:
    with pytest.raises(SCIMException) as caught:
        patched_profile(_user(), parse_patch(body))
    assert (caught.value.status, caught.value.scim_type) == (status, scim_type)
    assert caught.value.detail


def test_an_unknown_role_is_invalid_value_naming_the_choices() -> None:
    with pytest.raises(SCIMException) as caught:
        _apply({"op": "replace", "path": f"{ROSTER}:role", "value": "wizard"})
    assert caught.value.scim_type == "invalidValue" and "learner" in caught.value.detail


def test_removing_active_leaves_it_unset_which_counts_as_active() -> None:
    profile = _apply({"op": "remove", "path": "active"})
    assert profile.active is None and profile.is_active


def test_removing_the_roster_role_falls_back_to_scim_roles_then_learner() -> None:
    user = _user()
    coach = user.model_copy(
        update={"profile": user.profile.model_copy(update={"roster_role": RosterRole.COACH})}
    )
    patch = parse_patch({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f"{ROSTER}:role"}]})
    assert patched_profile(coach, patch).role == RosterRole.LEARNER


def test_a_path_less_remove_is_refused_whatever_its_value_holds() -> None:
    with pytest.raises(SCIMException) as refused:
        _apply({"op": "remove", "value": {'emails[type eq "work"].value': "ann@example.com"}})
    assert (refused.value.status, refused.value.scim_type) == (400, "noTarget")


@pytest.mark.parametrize(
    ("op", "path", "named"),
    [
        ("add", 'phoneNumbers[type eq "fax" or type eq "pager"].value', "phoneNumbers"),
        ("replace", 'PHONENUMBERS[type eq "fax" or type eq "pager"]', "PHONENUMBERS"),
        ("add", 'addresses[type eq "home" or type eq "other"].locality', "addresses"),
    ],
)
def test_a_filter_matching_nothing_names_the_attribute_as_the_path_does(
    op: str, path: str, named: str
) -> None:
    """RFC 7644 §3.5.2.3 and §3.12: a value filter that matches nothing, and that no element can be
    made for (Entra ID's create-on-write needs a filter of plain equalities), is 400 noTarget."""
    with pytest.raises(SCIMException) as refused:
        _apply({"op": op, "path": path, "value": "+3"})
    assert (refused.value.status, refused.value.scim_type) == (400, "noTarget")
    assert refused.value.detail == f"no value of '{named}' matches the path filter"


def test_a_remove_whose_value_filter_matches_nothing_changes_nothing() -> None:
    """An identity provider clearing what is already clear (docs/errors.md, noTarget)."""
    assert _apply({"op": "remove", "path": 'emails[type eq "other"]'}) == _user().profile
    assert _apply({"op": "Remove", "path": 'phoneNumbers[type eq "fax"].value'}) == _user().profile


@pytest.mark.parametrize("op", ["replace", "Add"])
def test_null_through_a_value_filter_matching_nothing_changes_nothing(op: str) -> None:
    """null is unassigned (RFC 7643 §2.5): no element holding only the filter's attribute is created."""
    for path in (
        'emails[type eq "home"].value',
        'phoneNumbers[type eq "work"]',
        'roles[value eq "x"].display',
    ):
        assert _apply({"op": op, "path": path, "value": None}) == _user().profile
    path = 'emails[type eq "work"].value'  # matching: what its removal does
    assert _apply({"op": op, "path": path, "value": None}) == _apply({"op": "remove", "path": path})


def _refusal(call: Any) -> tuple[str | None, str]:
    with pytest.raises(SCIMException) as refused:
        call()
    return refused.value.scim_type, str(refused.value.detail)


def test_a_patch_with_more_operations_or_values_than_one_request_may_carry_is_refused() -> None:
    """bounds.py: applying costs in proportion to operations and values, on the loop every tenant shares."""
    titles = [{"op": "replace", "path": "title", "value": f"t{i}"} for i in range(MAX_PATCH_OPERATIONS)]
    assert _apply(*titles).title == f"t{MAX_PATCH_OPERATIONS - 1}"  # the bound itself is fine
    assert _refusal(lambda: _apply(*titles, titles[0])) == (
        "invalidValue",
        f"A PATCH holds at most {MAX_PATCH_OPERATIONS} operations, not {MAX_PATCH_OPERATIONS + 1}:"
        " send the changes in several requests.",
    )
    roles = [{"value": f"r{i}"} for i in range(MAX_PATCH_VALUES // 2 + 1)]
    adding = [{"op": "add", "path": "roles", "value": roles}] * 2
    assert _refusal(lambda: _apply(*adding))[1].startswith(
        f"A PATCH carries at most {MAX_PATCH_VALUES} values"
    )
    # A path-less value's attributes are applied one by one: each counts, however deep.
    keys = {f"k{i}": 1 for i in range(MAX_PATCH_VALUES)}
    for value in ({**keys, "title": "late"}, {"name": {**keys, "givenName": "Ann"}}):
        assert _refusal(lambda value=value: _apply({"op": "replace", "value": value})) == (
            "invalidValue",
            f"A PATCH carries at most {MAX_PATCH_VALUES} values, not {MAX_PATCH_VALUES + 1}:"
            " send the changes in several requests.",
        )


def test_a_patch_whose_paths_are_longer_than_one_request_may_parse_is_refused() -> None:
    """bounds.py: scim2-models parses a path more than linearly in a value filter's length; Entra ID keys
    a path-less value by paths, so those names count too."""
    typed = 'emails[type eq "work"].value'
    fitting = [{"op": "replace", "path": typed, "value": f"e{i}@example.com"} for i in range(2)]
    assert _apply(*fitting).emails[0].value == "e1@example.com"
    terms = " or ".join(f'value eq "e{i:06}@example.com"' for i in range(MAX_PATCH_PATH_CHARACTERS // 30))
    long_filter = f"emails[{terms}].type"
    for operation in (
        {"op": "replace", "path": long_filter, "value": "home"},
        {"op": "replace", "value": {long_filter: "home", "title": "Boss"}},
    ):
        characters = len(long_filter) + (len("title") if "path" not in operation else 0)
        assert _refusal(lambda operation=operation: _apply(operation)) == (
            "invalidValue",
            f"A PATCH's paths and path-less attribute names hold at most {MAX_PATCH_PATH_CHARACTERS}"
            f" characters, not {characters}: send the changes in several requests.",
        )


def _holding_emails(count: int) -> UserRecord:
    emails = [{"value": f"e{i}@example.com", "type": "work"} for i in range(count)]
    profile = profile_from_scim({**user_body("ann@example.com"), "emails": emails})
    return UserRecord(id="u1", profile=profile, created=NOW, last_modified=NOW, version=1)


def _patched(record: UserRecord, *operations: dict[str, Any]) -> UserProfile:
    return patched_profile(record, parse_patch({"schemas": [PATCH_OP], "Operations": list(operations)}))


def _too_much_work(count: int) -> tuple[str, str]:
    return (
        "invalidValue",
        f"A PATCH's operations on multi-valued attributes go through at most {MAX_VALUES_GONE_THROUGH}"
        f" values, not {count} (each operation's filter terms and passes times the values the attribute"
        " may hold by then): send the changes in several requests.",
    )


def _replaces(count: int) -> int:
    """Values gone through by ``count`` replaces, each reading and writing (two passes) every one of 100
    e-mails, the values carried before it and its own."""
    return sum(2 * (100 + i + 1) for i in range(count))


def test_value_filters_are_counted_on_the_values_they_are_tried_on() -> None:
    """value_work.py: scim2-models tries a value filter on each value of the attribute, ~0.07 ms a
    comparison; 100 e-mails is what one user may hold."""
    crowded = _holding_emails(MAX_VALUES_PER_ATTRIBUTE)
    terms = MAX_VALUES_GONE_THROUGH // MAX_VALUES_PER_ATTRIBUTE  # 30 terms tried on 100 e-mails
    removal = " or ".join(f'value eq "e{i}@example.com"' for i in range(terms))
    remaining = _patched(crowded, {"op": "remove", "path": f"emails[{removal}]"}).emails
    assert [email.value for email in remaining][:1] == [f"e{terms}@example.com"]
    assert len(remaining) == MAX_VALUES_PER_ATTRIBUTE - terms
    one_more = {"op": "remove", "path": f'emails[{removal} or value eq "x@example.com"]'}
    assert _refusal(lambda: _patched(crowded, one_more)) == _too_much_work((terms + 1) * 100)
    # The same filter on a user holding a few e-mails is cheap.
    assert _patched(_holding_emails(3), one_more).emails == ()
    # Entra ID's remove by value is read as a filter of one term per key of each entry.
    by_value = [{"value": f"e{i}@example.com"} for i in range(terms)]
    assert len(_patched(crowded, {"op": "remove", "path": "emails", "value": by_value}).emails) == 70
    two_keys = {"value": "x@example.com", "type": "work"}
    more = {"op": "remove", "path": "emails", "value": [*by_value, two_keys]}
    assert _refusal(lambda: _patched(crowded, more)) == _too_much_work((terms + 2) * 100)


def test_a_replace_through_a_value_filter_passes_twice_over_values_the_operations_before_may_have_added() -> (
    None
):
    crowded = _holding_emails(MAX_VALUES_PER_ATTRIBUTE)
    typed = 'emails[type eq "work"].value'
    replaces = [{"op": "replace", "path": typed, "value": f"n{i}@example.com"} for i in range(14)]
    assert _replaces(13) <= MAX_VALUES_GONE_THROUGH < _replaces(14)
    assert _patched(crowded, *replaces[:13]).emails[0].value == "n12@example.com"
    assert _refusal(lambda: _patched(crowded, *replaces)) == _too_much_work(_replaces(14))
    # Values an add carries count for the operations after it, on a user holding one e-mail.
    grow = {"op": "add", "path": "emails", "value": [{"value": f"g{i}@example.com"} for i in range(99)]}
    assert _refusal(lambda: _patched(_holding_emails(1), grow, *replaces)) == _too_much_work(
        2 * (1 + 99) + _replaces(14)
    )
    # A value object is written key by key through the filter: one more pass per key.
    entry = {
        "op": "replace",
        "path": 'emails[type eq "work"]',
        "value": {"value": "w@example.com", "display": "W"},
    }
    assert _refusal(lambda: _patched(crowded, *[entry] * 8)) == _too_much_work(
        sum(4 * (100 + 2 * i + 2) for i in range(8))
    )


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "emails.display", "value": "Work"},
        {"op": "replace", "value": {"emails": [{"value": "p@example.com"}]}},
        {
            "op": "replace",
            "value": {"urn:ietf:params:scim:schemas:core:2.0:User:emails": [{"value": "p@example.com"}]},
        },
    ],
    ids=["sub-attribute", "path-less key", "path-less URN key"],
)
def test_every_operation_on_a_multi_valued_attribute_goes_through_its_values(
    operation: dict[str, Any],
) -> None:
    """A sub-attribute path writes every value; a path-less value's key is written as its path."""
    crowded = _holding_emails(MAX_VALUES_PER_ATTRIBUTE)
    _patched(crowded, *[operation] * 13)
    assert _refusal(lambda: _patched(crowded, *[operation] * 14)) == _too_much_work(_replaces(14))


@pytest.mark.parametrize(
    "displays",
    [
        {"op": "replace", "path": "ims.display", "value": "d"},
        {"op": "replace", "path": CORE_USER, "value": {"ims.display": "d"}},
        {"op": "replace", "value": {CORE_USER: {"ims.display": "d"}}},
    ],
    ids=["sub-attribute", "under the schema's path", "under the schema's key"],
)
def test_an_attribute_roster_does_not_keep_counts_the_values_added_to_it(displays: dict[str, Any]) -> None:
    """``ims`` is applied, then dropped (the profile does not keep it): 900 added, then one
    sub-attribute replace goes through them all, however it names the attribute."""
    ims = {"op": "add", "path": "ims", "value": [{"value": f"im{i}"} for i in range(900)]}
    assert _patched(_holding_emails(1), ims).emails[0].value == "e0@example.com"
    assert _refusal(lambda: _patched(_holding_emails(1), ims, displays)) == _too_much_work(
        2 * 900 + 2 * (900 + 1)
    )


def test_an_add_carrying_nothing_through_a_filter_counts_the_value_it_may_create() -> None:
    """An empty object through a filter matching nothing creates the element the filter describes."""
    creating = [{"op": "add", "path": f'ims[type eq "t{i}"]', "value": {}} for i in range(100)]
    assert _patched(_holding_emails(1), *creating[:50]).emails[0].value == "e0@example.com"
    assert _refusal(lambda: _patched(_holding_emails(1), *creating)) == _too_much_work(
        sum(2 * (i + 1) for i in range(100))
    )


def test_entra_ids_full_patch_on_a_user_holding_the_most_values_passes() -> None:
    """Entra ID's path-less replace of every mapped attribute, keyed by paths with value filters."""
    entra = {
        "op": "Replace",
        "value": {
            "displayName": "Ann Tester",
            "name.givenName": "Ann",
            'emails[type eq "work"].value': "ann@example.com",
            'phoneNumbers[type eq "work"].value': "+1 555 0100",
            'phoneNumbers[type eq "mobile"].value': "+1 555 0101",
            'addresses[type eq "work"].streetAddress': "1 Main St",
            'addresses[type eq "work"].locality': "Paris",
            'addresses[type eq "work"].postalCode': "75001",
            'addresses[type eq "work"].country': "FR",
        },
    }
    patched = _patched(_holding_emails(MAX_VALUES_PER_ATTRIBUTE), entra)
    assert patched.name is not None
    assert patched.name.given_name == "Ann"


def test_a_remove_by_value_counts_the_filter_it_becomes_as_path_characters() -> None:
    """Entra ID's remove by value is written out by the library as ``emails[value eq "…" or …]`` and
    parsed: 1,000 values of 500 characters took 0.35 s."""
    long_values = [{"value": f"{i:03}" + "x" * 500} for i in range(20)]
    comparisons = 20 * len('value eq "' + "x" * 503 + '"')
    assert _refusal(lambda: _apply({"op": "remove", "path": "emails", "value": long_values})) == (
        "invalidValue",
        f"A PATCH's paths and path-less attribute names hold at most {MAX_PATCH_PATH_CHARACTERS}"
        f" characters, not {len('emails') + comparisons}: send the changes in several requests.",
    )


def test_a_user_holds_at_most_so_many_values_of_an_attribute_but_one_holding_more_can_still_change() -> None:
    emails = [{"value": f"e{i}@example.com"} for i in range(MAX_VALUES_PER_ATTRIBUTE + 1)]
    detail = f"emails holds at most {MAX_VALUES_PER_ATTRIBUTE} values, not {MAX_VALUES_PER_ATTRIBUTE + 1}."
    assert _refusal(lambda: profile_from_scim({**user_body("ann@example.com"), "emails": emails})) == (
        "invalidValue",
        detail,
    )
    assert _refusal(lambda: _apply({"op": "replace", "path": "emails", "value": emails}))[1] == detail
    crowded = _user().profile.model_copy(
        update={
            "emails": tuple(
                profile_from_scim(
                    {**user_body("ann@example.com"), "emails": emails[:MAX_VALUES_PER_ATTRIBUTE]}
                ).emails
            )
            * 2
        }
    )  # stored before the bound
    record = UserRecord(id="u1", profile=crowded, created=NOW, last_modified=NOW, version=1)
    deactivate = parse_patch(
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": False}]}
    )
    assert patched_profile(record, deactivate).active is False


def test_operations_between_manager_removals_apply_in_order_around_them() -> None:
    """Entra ID's removal of a manager it names applies only while that is the manager, as the
    operations before it left it, however many come before and after it."""
    manager = f"{ENTERPRISE}:manager"
    kept = _apply(
        {"op": "replace", "path": "title", "value": "one"},
        {"op": "add", "path": manager, "value": "m2"},
        {"op": "remove", "path": 'manager[value eq "m1"]'},  # m2 is the manager now: kept
        {"op": "replace", "path": "title", "value": "two"},
    )
    assert kept.title == "two" and kept.enterprise is not None and kept.enterprise.manager_ref == "m2"
    removed = _apply(
        {"op": "add", "path": manager, "value": "m1"},
        {"op": "remove", "path": 'manager[value eq "m1"]'},
        {"op": "replace", "path": "title", "value": "three"},
    )
    assert (
        removed.title == "three" and removed.enterprise is not None and removed.enterprise.manager_ref is None
    )


@pytest.mark.parametrize("operation", [None, "replace", ["op", "replace"]])
def test_an_operation_that_is_not_an_object_is_a_syntax_error_as_on_groups(operation: object) -> None:
    assert _refusal(lambda: _apply(operation)) == ("invalidSyntax", "PATCH Operations.0 must be an object.")  # type: ignore[arg-type]


def test_a_value_an_attribute_already_holds_is_added_as_no_change() -> None:
    """RFC 7644 §3.5.2.1; a role is stored with ``primary: false``, and sent again without it."""
    body = user_body("ann@example.com")
    body["roles"] = [{"value": "sales"}]
    user = UserRecord(id="u1", profile=profile_from_scim(body), created=NOW, last_modified=NOW, version=1)
    request = parse_patch(
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "add", "path": "roles", "value": [{"value": "sales"}]},
                {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555 0100", "type": "work"}]},
                {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555 0100", "type": "work"}]},
            ],
        }
    )
    profile = patched_profile(user, request)
    assert [role.value for role in profile.roles] == ["sales"]
    assert [phone.value for phone in profile.phone_numbers] == ["+1 555 0100"]


def _without_manager() -> UserRecord:
    body = user_body("ann@example.com")
    del body[ENTERPRISE]["manager"]
    return UserRecord(id="u1", profile=profile_from_scim(body), created=NOW, last_modified=NOW, version=1)


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "manager.displayName", "value": "Only A Name"},
        {"op": "add", "path": "manager", "value": {"displayName": "Only A Name"}},
        {"op": "replace", "path": "manager", "value": {"value": None, "displayName": "Only A Name"}},
        {"op": "add", "path": "manager", "value": {"value": None, "displayName": "Only A Name"}},
    ],
)
def test_a_manager_of_a_display_name_alone_is_stored_as_a_post_stores_it(operation: dict[str, Any]) -> None:
    body = user_body("ann@example.com")
    body[ENTERPRISE]["manager"] = {"displayName": "Only A Name"}
    posted = profile_from_scim(body).enterprise
    patched = patched_profile(
        _without_manager(), parse_patch({"schemas": [PATCH_OP], "Operations": [operation]})
    )
    assert patched.enterprise == posted
    assert posted is not None and (posted.manager_ref, posted.manager_display) == (None, "Only A Name")


def test_two_managers_in_one_add_are_invalid_value() -> None:
    operation = {"op": "Add", "path": "manager", "value": [{"value": "a"}, {"value": "b"}]}
    with pytest.raises(SCIMException) as caught:
        parse_patch({"schemas": [PATCH_OP], "Operations": [operation]})
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_a_path_less_value_of_keyed_filters_counts_each_as_an_operation() -> None:
    """Each keyed filter is applied as an operation of its own, and costs what one costs."""
    keys = {f'emails[type eq "t{i}"].value': f"q{i}@x.io" for i in range(MAX_PATCH_OPERATIONS + 1)}
    with pytest.raises(SCIMException) as caught:
        parse_patch({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": keys}]})
    assert (caught.value.scim_type, caught.value.detail) == (
        "invalidValue",
        f"A PATCH holds at most {MAX_PATCH_OPERATIONS} operations, not {MAX_PATCH_OPERATIONS + 1}:"
        " send the changes in several requests.",
    )


def test_a_value_added_again_to_mark_it_primary_is_held_once_and_primary() -> None:
    body = user_body("ann@example.com")
    body["emails"] = [
        {"value": "ann@example.com", "type": "work"},
        {"value": "ann@home.example", "type": "home"},
    ]
    user = UserRecord(id="u1", profile=profile_from_scim(body), created=NOW, last_modified=NOW, version=1)
    added = {"value": "ANN@example.com", "type": "work", "primary": True}  # not case-exact (RFC 7643 §4.1.2)
    request = parse_patch(
        {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "emails", "value": [added]}]}
    )
    emails = patched_profile(user, request).emails
    assert [(e.value, e.type, e.primary) for e in emails] == [
        ("ann@example.com", "work", True),
        ("ann@home.example", "home", False),
    ]


def test_a_patch_of_a_manager_display_name_alone_still_has_its_schemas_checked() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "Operations": [{"op": "replace", "path": "manager.displayName", "value": "X"}],
    }
    with pytest.raises(SCIMException) as caught:
        parse_patch(body)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")
    assert caught.value.detail == f"schemas must contain the base schema '{PATCH_OP}'"
    missing = parse_patch({"Operations": body["Operations"]})  # tolerated, as on every PATCH
    assert missing.patch is None and missing.manager_display is not None
