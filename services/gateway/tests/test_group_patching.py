"""Every Group PATCH shape Okta and Entra send (docs/scim-clients.md) → the exact PatchGroup, purely."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import SCIMException

from contracts.teams import MembershipChange, MembershipOp, PatchGroup
from services.gateway.scim.groups import plain_members
from services.gateway.scim.groups.patching import (
    PATCH_OP_URN,
    added_member_ids,
    group_patch,
)
from services.gateway.scim.groups.plain_members import (
    MAX_PARSED_OPERATIONS,
    MAX_PARSED_PATH_CHARACTERS,
    plain_membership_changes,
)

TEAM = "team-1"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ADD, REMOVE, REPLACE = MembershipOp.ADD, MembershipOp.REMOVE, MembershipOp.REPLACE


def _patch(*operations: dict[str, Any]) -> PatchGroup:
    return group_patch({"schemas": [PATCH_OP_URN], "Operations": list(operations)}, team_id=TEAM)


def _changes(*changes: tuple[MembershipOp, tuple[str, ...]]) -> tuple[MembershipChange, ...]:
    return tuple(MembershipChange(op=op, user_ids=ids) for op, ids in changes)


def _remove(user_id: str) -> dict[str, Any]:
    return {"op": "remove", "path": f'members[value eq "{user_id}"]'}


def test_okta_membership_update_mixes_removes_adds_and_the_rename_it_always_sends() -> None:
    command = _patch(
        _remove("u1"),
        _remove("u2"),
        {"op": "add", "path": "members", "value": [{"value": "u3", "display": "c@example.com"}]},
        {"op": "replace", "value": {"id": TEAM, "displayName": "Sales West"}},
    )
    assert command == PatchGroup(
        team_id=TEAM,
        rename_to="Sales West",
        changes=_changes((REMOVE, ("u1", "u2")), (ADD, ("u3",))),
    )


def test_path_less_names_qualified_by_the_group_schema_urn() -> None:
    """RFC 7644 §3.10: an attribute name may carry its schema's URN, in a path or in a value's keys."""
    command = _patch(
        {"op": "replace", "value": {f"{GROUP}:displayName": "Sales East", f"{GROUP}:externalId": "x-1"}},
        {"op": "add", "value": {f"{GROUP.upper()}:MEMBERS": [{"value": "u1"}]}},
    )
    assert command == PatchGroup(
        team_id=TEAM,
        rename_to="Sales East",
        replace_external_id=True,
        external_id="x-1",
        changes=_changes((ADD, ("u1",))),
    )


def test_okta_push_now_replaces_every_member() -> None:
    command = _patch({"op": "replace", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]})
    assert command.changes == _changes((REPLACE, ("u1", "u2")))
    assert (command.rename_to, command.replace_external_id) == (None, False)


def test_okta_path_less_rename_alone_is_only_a_rename() -> None:
    command = _patch({"op": "replace", "value": {"id": TEAM, "displayName": "New name"}})
    assert command == PatchGroup(team_id=TEAM, rename_to="New name")


@pytest.mark.parametrize("op", ["Add", "ADD", "add"])
def test_entra_capitalised_add(op: str) -> None:
    command = _patch({"op": op, "path": "members", "value": [{"value": "u1"}]})
    assert command.changes == _changes((ADD, ("u1",)))


def test_entra_remove_with_a_value_list() -> None:
    command = _patch({"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]})
    assert command.changes == _changes((REMOVE, ("u1", "u2")))


def test_entra_replace_display_name_and_external_id_by_path() -> None:
    command = _patch(
        {"op": "Replace", "path": "displayName", "value": "Renamed"},
        {"op": "Replace", "path": "externalId", "value": "ext-9"},
    )
    assert command == PatchGroup(
        team_id=TEAM, rename_to="Renamed", replace_external_id=True, external_id="ext-9"
    )


def test_remove_members_without_value_empties_the_team() -> None:
    assert _patch({"op": "remove", "path": "members"}).changes == _changes((REPLACE, ()))


def test_or_combined_value_filter_removes_each_id() -> None:
    command = _patch({"op": "remove", "path": 'members[value eq "u1" or VALUE EQ "u2"]'})
    assert command.changes == _changes((REMOVE, ("u1", "u2")))


def test_escaped_quote_in_a_filtered_id() -> None:
    assert _patch(_remove('odd\\"id')).changes == _changes((REMOVE, ('odd"id',)))


def test_path_less_add_and_replace_with_members() -> None:
    added = _patch({"op": "add", "value": {"displayName": "D", "members": [{"value": "u1"}], "shoeSize": 4}})
    assert added == PatchGroup(team_id=TEAM, rename_to="D", changes=_changes((ADD, ("u1",))))
    replaced = _patch({"op": "replace", "value": {"externalId": "e", "members": [{"value": "u2"}]}})
    assert replaced == PatchGroup(
        team_id=TEAM, replace_external_id=True, external_id="e", changes=_changes((REPLACE, ("u2",)))
    )


def test_urn_qualified_path_and_removing_the_external_id() -> None:
    assert _patch({"op": "replace", "path": f"{GROUP}:displayName", "value": "U"}).rename_to == "U"
    removed = _patch({"op": "remove", "path": "externalId"})
    assert (removed.replace_external_id, removed.external_id) == (True, None)


def test_operations_keep_their_order_and_only_neighbours_merge() -> None:
    command = _patch(
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "add", "path": "members", "value": [{"value": "u2"}, {"value": "u1"}]},
        _remove("u1"),
        {"op": "replace", "path": "members", "value": [{"value": "u3"}]},
        {"op": "add", "path": "members", "value": [{"value": "u4"}]},
        {"op": "replace", "path": "displayName", "value": "First"},
        {"op": "replace", "path": "displayName", "value": "Last"},
    )
    assert command.changes == _changes(
        (ADD, ("u1", "u2")), (REMOVE, ("u1",)), (REPLACE, ("u3",)), (ADD, ("u4",))
    )
    assert command.rename_to == "Last"


def test_empty_adds_and_removes_change_nothing() -> None:
    command = _patch(
        {"op": "add", "path": "members", "value": []}, {"op": "Remove", "path": "members", "value": []}
    )
    assert command.changes == ()


def test_a_single_member_object_and_unknown_member_attributes_are_tolerated() -> None:
    command = _patch({"op": "add", "path": "members", "value": {"value": "u1", "$ref": "x", "mood": "ok"}})
    assert command.changes == _changes((ADD, ("u1",)))


def test_lowercase_operations_key_and_missing_schemas_are_tolerated() -> None:
    command = group_patch({"operations": [{"op": "remove", "path": "members"}]}, team_id=TEAM)
    assert command.changes == _changes((REPLACE, ()))


def test_version_and_reply_size_travel_with_the_command() -> None:
    body = {"schemas": [PATCH_OP_URN], "Operations": [_remove("u1")]}
    command = group_patch(body, team_id=TEAM, expected_version=4, reply_members_up_to=1000)
    assert (command.expected_version, command.reply_members_up_to) == (4, 1000)


def test_added_member_ids_are_adds_and_replaces_not_removes() -> None:
    command = _patch(
        {"op": "add", "path": "members", "value": [{"value": "a"}]},
        _remove("r"),
        {"op": "replace", "path": "members", "value": [{"value": "b"}, {"value": "a"}]},
    )
    assert added_member_ids(command) == ("a", "b")


def _ops(*operations: Any) -> dict[str, Any]:
    return {"schemas": [PATCH_OP_URN], "Operations": list(operations)}


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        ([], 400, "invalidSyntax"),
        ({"schemas": [PATCH_OP_URN]}, 400, "invalidValue"),
        (_ops(), 400, "invalidValue"),
        (_ops("remove"), 400, "invalidSyntax"),
        (_ops({"op": "jump", "path": "members", "value": []}), 400, "invalidSyntax"),
        (_ops({"path": "members", "value": []}), 400, "invalidSyntax"),
        ({"schemas": ["urn:nope"], "Operations": [_remove("u1")]}, 400, "invalidValue"),
        (_ops({"op": "replace", "path": "shoeSize", "value": 1}), 400, "invalidPath"),
        (_ops({"op": "replace", "path": 'members[value eq "u1"].display', "value": "d"}), 400, "invalidPath"),
        (
            _ops({"op": "replace", "path": 'members[value eq "u1"]', "value": [{"value": "u2"}]}),
            400,
            "invalidPath",
        ),
        (_ops({"op": "remove", "path": 'members[display eq "ann"]'}), 400, "invalidFilter"),
        (_ops({"op": "remove", "path": 'members[value eq "u1" and value eq "u2"]'}), 400, "invalidFilter"),
        (_ops({"op": "remove", "path": 'members[value eq "u1"'}), 400, "invalidPath"),
        (_ops({"op": "replace", "path": "id", "value": "x"}), 400, "mutability"),
        (_ops({"op": "remove", "path": "displayName"}), 400, "mutability"),
        (_ops({"op": "replace", "path": "displayName", "value": ""}), 400, "invalidValue"),
        (_ops({"op": "replace", "path": "displayName", "value": 5}), 400, "invalidValue"),
        (_ops({"op": "replace", "path": "externalId", "value": 5}), 400, "invalidValue"),
        (_ops({"op": "add", "path": "members"}), 400, "invalidValue"),
        (_ops({"op": "add", "path": "members", "value": "u1"}), 400, "invalidValue"),
        (_ops({"op": "add", "path": "members", "value": [{"display": "no id"}]}), 400, "invalidValue"),
        (_ops({"op": "remove"}), 400, "noTarget"),
        (_ops({"op": "replace", "value": "not an object"}), 400, "invalidValue"),
        (_ops({"op": "replace", "value": {"id": "another-team", "displayName": "X"}}), 400, "invalidValue"),
    ],
)
def test_invalid_patches(body: Any, status: int, scim_type: str) -> None:
    with pytest.raises(SCIMException) as caught:
        group_patch(body, team_id=TEAM)
    assert (caught.value.status, caught.value.scim_type) == (status, scim_type)
    assert caught.value.detail


@pytest.mark.parametrize("kind", ["Group", "group"])
def test_nested_groups_are_refused_naming_the_member(kind: str) -> None:
    with pytest.raises(SCIMException) as caught:
        _patch({"op": "add", "path": "members", "value": [{"value": "g7", "type": kind}]})
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")
    assert "nested groups are not supported" in caught.value.detail and '"g7"' in caught.value.detail


def test_a_malformed_path_is_refused_naming_its_operation_as_sent() -> None:
    """The removals before it are read apart from the SCIM library, which numbers what it is given."""
    operations = [
        _remove("u1"),
        _remove("u2"),
        _remove("u3"),
        {"op": "remove", "path": 'members[value eq "u4"'},
    ]
    with pytest.raises(SCIMException) as caught:
        group_patch(_ops(*operations), team_id=TEAM)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidPath")
    assert caught.value.detail == "invalid syntax at column 18: Operations[3].path"


def test_an_operation_without_op_says_so() -> None:
    with pytest.raises(SCIMException) as caught:
        group_patch(_ops(_remove("u1"), {"path": "members", "value": []}), team_id=TEAM)
    assert caught.value.detail == 'PATCH Operations.1 has no "op": use add, remove or replace.'


def test_an_unsupported_op_names_the_supported_ones() -> None:
    with pytest.raises(SCIMException) as caught:
        _patch({"op": "move", "path": "members", "value": []})
    assert "add, remove or replace" in caught.value.detail


def _read_by_the_library(operations: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> PatchGroup:
    """The command from the same operations with their paths qualified by the Group schema's URN, which
    the fast reading leaves to the SCIM library, unbounded for the comparison."""
    with monkeypatch.context() as unbounded:
        unbounded.setattr(plain_members, "MAX_PARSED_OPERATIONS", 10**9)
        unbounded.setattr(plain_members, "MAX_PARSED_PATH_CHARACTERS", 10**9)
        return _patch(*(_qualified(operation) for operation in operations))


def _qualified(operation: dict[str, Any]) -> dict[str, Any]:
    """The same operation with its path qualified by the Group schema's URN: the long way through the
    SCIM library (a plain one-member removal is read apart, for speed)."""
    if "path" not in operation:
        return operation
    return {**operation, "path": f"{GROUP}:{operation['path']}"}


def test_thousands_of_one_member_removals_mean_what_the_scim_library_reads_them_as(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operations = [
        _remove("u0"),
        *(_remove(f"u{i}") for i in range(1, 3000)),
        {"op": "add", "path": "members", "value": [{"value": "u1"}]},
        {"op": "Remove", "path": 'MEMBERS[VALUE EQ "u1"]'},
        {"op": "remove", "path": 'members[value eq "u2" or value eq "u3"]'},
        {"op": "remove", "path": 'members[value eq "a \\"quoted\\" id"]'},
        {"op": "replace", "value": {"displayName": "Sales"}},
        _remove("u4"),
    ]
    fast = _patch(*operations)
    assert fast == _read_by_the_library(operations, monkeypatch)
    assert fast.changes == _changes(
        (REMOVE, tuple(f"u{i}" for i in range(3000))),
        (ADD, ("u1",)),
        (REMOVE, ("u1", "u2", "u3", 'a "quoted" id', "u4")),
    )


def test_an_error_after_one_member_removals_names_the_operation_as_sent() -> None:
    with pytest.raises(SCIMException) as caught:
        _patch(_remove("u1"), _remove("u2"), {"op": "add", "path": "members", "value": [{"value": 7}]})
    assert (caught.value.scim_type, caught.value.detail) == (
        "invalidValue",
        'PATCH Operations.2: every member needs a "value" holding a user id.',
    )


def test_a_patch_of_plain_membership_operations_alone_still_has_its_schemas_checked() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "Operations": [_remove("u1"), {"op": "add", "path": "members", "value": [{"value": "u2"}]}],
    }
    with pytest.raises(SCIMException) as caught:
        group_patch(body, team_id=TEAM)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")
    assert group_patch({**body, "schemas": [PATCH_OP_URN]}, team_id=TEAM).changes == _changes(
        (REMOVE, ("u1",)), (ADD, ("u2",))
    )


def test_only_the_plain_membership_operations_are_read_apart() -> None:
    """The shapes the fast reading takes; every other goes through the SCIM library (above: same command)."""
    operations: list[dict[str, Any]] = [
        _remove("first"),
        _remove("u1"),
        {"OP": "Remove", "Path": 'MEMBERS[VALUE EQ "u2"]'},
        {"op": "remove", "path": 'members[value eq "a \\"quoted\\" id"]'},
        {"op": "remove", "path": 'members[value eq "u3"]', "value": [{"value": "u3"}]},
        {"op": "remove", "path": 'members[value eq "u4" or value eq "u5" OR VALUE EQ "u4"]'},
        {"op": "add", "path": 'members[value eq "u6"]'},
        {"op": "remove", "path": f'{GROUP}:members[value eq "u7"]'},
        {"op": "remove", "path": 'members[value eq "u8"  or value eq "u9"]'},
        {"op": "remove", "path": 'members[value eq "u8" and value eq "u9"]'},
        {"op": "Add", "path": "Members", "value": [{"value": "u10", "display": "ten"}, {"value": "u11"}]},
        {"op": "Remove", "path": "members", "value": [{"value": "u12"}, {"value": "u12"}]},
        {"op": "add", "path": "members", "value": []},
        {"op": "replace", "path": "members", "value": [{"value": "u13"}]},
        {"op": "add", "path": "members", "value": [{"value": "u14", "type": "User"}]},
        {"op": "add", "path": "members", "value": [{"Value": "u15"}]},
        {"op": "add", "path": "members", "value": [{"value": "u16", "$ref": "https://x/Users/u16"}]},
        {"op": "add", "path": "members", "value": [{"value": ""}]},
        {"op": "add", "path": "members", "value": [{"value": "u17", "display": 7}]},
        {"op": "add", "path": "members", "value": {"value": "u18"}},
        {"op": "add", "path": "members", "value": [{"value": "u19"}], "extra": 1},
        {"op": "add", "path": f"{GROUP}:members", "value": [{"value": "u20"}]},
        {"op": "remove", "path": 'members[value eq "u21\nu22"]'},
        {"op": "remove", "path": 'members[value eq "u23" or value eq "u\x0024"]'},
        {"op": "remove", "path": 'member\u017f[value eq "u25"]'},
        {"op": "remove", "path": 'members[value eq "u26" \u017fr value eq "u27"]'},
    ]
    assert plain_membership_changes(operations) == {
        0: (REMOVE, ("first",)),
        1: (REMOVE, ("u1",)),
        2: (REMOVE, ("u2",)),
        5: (REMOVE, ("u4", "u5")),
        10: (ADD, ("u10", "u11")),
        11: (REMOVE, ("u12",)),
        12: (ADD, ()),
    }


def test_thousands_of_member_lists_and_or_filters_mean_what_the_scim_library_reads_them_as(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operations: list[dict[str, Any]] = [
        {"op": "replace", "value": {"displayName": "Sales"}},
        *(
            {"op": "add", "path": "members", "value": [{"value": f"a{i}", "display": f"login{i}"}]}
            for i in range(1000)
        ),
        *({"op": "Remove", "path": "members", "value": [{"value": f"a{i}"}]} for i in range(0, 1000, 2)),
        {
            "op": "remove",
            "path": " or ".join(f'value eq "b{i}"' for i in range(2000)).join(("members[", "]")),
        },
        {"op": "add", "path": "members", "value": []},
        {"op": "remove", "path": "members", "value": []},
        {"op": "add", "path": "members", "value": [{"value": "c1"}, {"value": "c2"}, {"value": "c1"}]},
    ]
    fast = _patch(*operations)
    assert fast == _read_by_the_library(operations, monkeypatch)
    assert fast.rename_to == "Sales"
    assert fast.changes == _changes(
        (ADD, tuple(f"a{i}" for i in range(1000))),
        (REMOVE, (*(f"a{i}" for i in range(0, 1000, 2)), *(f"b{i}" for i in range(2000)))),
        (ADD, ("c1", "c2")),
    )


def _refusal(*operations: dict[str, Any]) -> tuple[int | None, str | None, str]:
    with pytest.raises(SCIMException) as caught:
        _patch(*operations)
    return caught.value.status, caught.value.scim_type, str(caught.value.detail)


def test_a_removal_by_value_the_library_reads_counts_a_comparison_per_key_of_each_member() -> None:
    """The library turns ``{"value": …, "type": "User"}`` entries into one value filter and parses it,
    worse than linearly: 25,000 such members held the gateway 4.8 s. Each key counts as an operation
    would, and its comparison's characters as a path's."""
    # The path and two keys a member: 999.
    typed = [{"value": f"u{i:06}", "type": "User"} for i in range(MAX_PARSED_OPERATIONS // 2 - 1)]
    removal = {"op": "remove", "path": "members", "value": typed}
    assert _patch(removal).changes == _changes((REMOVE, tuple(member["value"] for member in typed)))
    over = {**removal, "value": [*typed, {"value": "u", "type": "User"}]}
    assert _refusal(over) == (
        400,
        "invalidValue",
        f"A Group PATCH holds at most {MAX_PARSED_OPERATIONS} operations besides adding and removing"
        " members (each attribute of a path-less value, and each key of a member removed by value, counts as"
        f" one), not {MAX_PARSED_OPERATIONS + 1}: send the changes in several requests.",
    )
    # Each comparison as the library writes it: value eq "0000xx…x" and type eq "User".
    long_ids = [{"value": f"{i:04}" + "x" * 100, "type": "User"} for i in range(200)]
    characters = len("members") + 200 * (len('value eq ""') + 104 + len('type eq "User"'))
    assert _refusal({"op": "remove", "path": "members", "value": long_ids}) == (
        400,
        "invalidValue",
        f"A Group PATCH's paths and path-less attribute names hold at most {MAX_PARSED_PATH_CHARACTERS}"
        f" characters besides those adding and removing members, not {characters}: send the changes in"
        " several requests.",
    )


def test_what_the_scim_library_must_read_of_one_patch_is_bounded() -> None:
    """plain_members.py: its reading costs ~0.1 ms an operation and more than linear in a filter's length,
    on the CPU that answers every tenant; membership operations of the plain shapes are not counted."""
    renames = [
        {"op": "replace", "path": "displayName", "value": f"n{i}"} for i in range(MAX_PARSED_OPERATIONS)
    ]
    members = [{"op": "add", "path": "members", "value": [{"value": f"u{i}"}]} for i in range(5000)]
    assert _patch(*renames, *members).rename_to == f"n{MAX_PARSED_OPERATIONS - 1}"  # the bound itself is fine
    assert _refusal(*renames, *members, renames[0]) == (
        400,
        "invalidValue",
        f"A Group PATCH holds at most {MAX_PARSED_OPERATIONS} operations besides adding and removing"
        " members (each attribute of a path-less value, and each key of a member removed by value, counts as"
        f" one), not {MAX_PARSED_OPERATIONS + 1}:"
        " send the changes in several requests.",
    )
    # The library reads each attribute of a path-less value as a path, at any depth of objects.
    keys = {f"k{i}": "v" for i in range(MAX_PARSED_OPERATIONS - 2)}
    assert _patch({"op": "add", "value": {**keys, "displayName": "Sales"}}).rename_to == "Sales"
    for value in ({**keys, "a": 1, "b": 2, "c": 3}, {"displayName": "Sales", GROUP: {**keys, "b": 2}}):
        assert _refusal({"op": "add", "value": value})[2].endswith(
            f"not {MAX_PARSED_OPERATIONS + 1}: send the changes in several requests."
        )
    # An or-filter in a form the fast reading leaves to the library (two spaces before "or").
    terms = MAX_PARSED_PATH_CHARACTERS // 20
    odd_filter = "members[" + "  or ".join(f'value eq "u{i:06}"' for i in range(terms)) + "]"
    assert len(odd_filter) > MAX_PARSED_PATH_CHARACTERS
    assert _refusal(renames[0], {"op": "remove", "path": odd_filter}) == (
        400,
        "invalidValue",
        f"A Group PATCH's paths and path-less attribute names hold at most {MAX_PARSED_PATH_CHARACTERS}"
        f" characters besides those adding and removing members, not {len(odd_filter) + len('displayName')}:"
        " send the changes in several requests.",
    )
    long_name = {"op": "replace", "value": {"displayName": "Sales", "x" * MAX_PARSED_PATH_CHARACTERS: 1}}
    assert _refusal(long_name)[2] == (
        f"A Group PATCH's paths and path-less attribute names hold at most {MAX_PARSED_PATH_CHARACTERS}"
        f" characters besides those adding and removing members, not {len('displayName') + 20_000}: send"
        " the changes in several requests."
    )
    plain_filter = "members[" + " or ".join(f'value eq "u{i:06}"' for i in range(terms * 4)) + "]"
    assert len(_patch(renames[0], {"op": "remove", "path": plain_filter}).changes[0].user_ids) == terms * 4
