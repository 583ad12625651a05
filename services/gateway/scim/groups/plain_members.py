"""The membership operations of a Group PATCH read without the SCIM library, and a bound on the rest.

An identity provider changes members with operations of two plain shapes, thousands in one PATCH when
a large group changes (a 4 MiB group body holds ~48,000):

* Okta removes each member with ``{"op": "remove", "path": "members[value eq \\"<id>\\"]"}``; filters
  joined with ``or`` remove several (RFC 7644 §3.5.2.2);
* Okta adds with ``{"op": "add", "path": "members", "value": [{"value": "<id>", "display": "<login>"}]}``,
  Entra ID removes with ``{"op": "Remove", "path": "members", "value": [{"value": "<id>"}]}``.

scim2-models validates each operation and parses its path with lark, 0.1 to 0.4 ms per operation and
more than linear in a filter's length (10,000 ``or`` terms: 2 s): a PATCH of them would hold the
gateway's CPU, which answers every tenant, for seconds or minutes. These shapes are read here, in
linear time, to the same ids the library's reading gives (``services/gateway/tests/test_group_patching.py``
compares them); only the plain forms are (no other key in an operation or a member; in a filter, ids
without quote, backslash or control character). What the library does read is bounded
(``refuse_costly``): about 0.3 s of its CPU per request at most (BENCHMARKS.md).
"""

from __future__ import annotations

import re
from typing import Any

from scim2_models import InvalidValueException

from contracts.teams import MembershipOp
from services.gateway.scim.patch_shapes import parsed_names

MAX_PARSED_OPERATIONS = 1_000
"""Operations the SCIM library reads in one Group PATCH (~0.1 ms each): renames, member filters in
other forms. Identity providers send one or two besides their membership operations."""

MAX_PARSED_PATH_CHARACTERS = 20_000
"""Characters of the paths and path-less attribute names it parses in one Group PATCH (~4 µs each,
more in long filters)."""

# The library's grammar refuses a control character in a quoted string; ASCII, so that no Unicode case
# folding matches what its names do not (U+017F, the long s, for "s").
_ID = r'"([^"\\\x00-\x1f]*)"'
_MEMBER_FILTER = re.compile(rf"members\[value eq {_ID}((?: or value eq {_ID})*)\]", re.IGNORECASE | re.ASCII)
_ONE_TERM = re.compile(rf"value eq {_ID}", re.IGNORECASE | re.ASCII)
_MEMBER_KEYS = (frozenset({"value"}), frozenset({"value", "display"}))
_LIST_OPS = {"add": MembershipOp.ADD, "remove": MembershipOp.REMOVE}
_LOWER_KEYS = frozenset({"op", "path", "value"})

PlainChange = tuple[MembershipOp, tuple[str, ...]]


def plain_membership_changes(operations: list[dict[str, Any]]) -> dict[int, PlainChange]:
    """The operations (by position) that are plain membership changes, and each one's change: the ids
    in the order sent, without repeats."""
    plain: dict[int, PlainChange] = {}
    for index, operation in enumerate(operations):
        # Keys in any case (RFC 7644 §3.5.2: attribute names are case-insensitive); Okta's are lower.
        fields = operation if _LOWER_KEYS.issuperset(operation) else _lowered(operation)
        op, path = fields.get("op"), fields.get("path")
        if not isinstance(path, str) or not isinstance(op, str):
            continue
        if len(fields) == 2 and op.lower() == "remove":
            ids = _filtered_ids(path)
            if ids is not None:
                plain[index] = (MembershipOp.REMOVE, ids)
        elif len(fields) == 3 and "value" in fields and (kind := _LIST_OPS.get(op.lower())) is not None:
            ids = _listed_ids(fields["value"]) if path.lower() == "members" else None
            if ids is not None:
                plain[index] = (kind, ids)
    return plain


def _lowered(operation: dict[str, Any]) -> dict[str, Any]:
    return {key.lower(): item for key, item in operation.items()}


def _filtered_ids(path: str) -> tuple[str, ...] | None:
    matched = _MEMBER_FILTER.fullmatch(path)
    if matched is None:
        return None
    first, more = matched.group(1, 2)
    if not more:  # Okta's one member per operation
        return (first,)
    return tuple(dict.fromkeys([first, *_ONE_TERM.findall(more)]))


def _listed_ids(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    ids: list[str] = []
    for member in value:
        if not isinstance(member, dict) or frozenset(member) not in _MEMBER_KEYS:
            return None
        user_id, display = member["value"], member.get("display", "")
        if not isinstance(user_id, str) or not user_id or not isinstance(display, str):
            return None
        ids.append(user_id)
    return tuple(dict.fromkeys(ids))


def refuse_costly(operations: list[dict[str, Any]], plain: dict[int, PlainChange]) -> None:
    """Too much left for the SCIM library to read: 400 invalidValue. It reads each attribute of a
    path-less value as it reads a path (RFC 7644 §3.5.2.1: each is added or replaced as if named by
    one), so each counts as an operation, and its name's characters as a path's."""
    count = characters = 0
    for index, operation in enumerate(operations):
        if index in plain:
            continue
        names = parsed_names(operation)
        count += max(1, len(names))
        characters += sum(map(len, names))
    if count > MAX_PARSED_OPERATIONS:
        raise InvalidValueException(
            detail=f"A Group PATCH holds at most {MAX_PARSED_OPERATIONS} operations besides adding and"
            " removing members (each attribute of a path-less value, and each key of a member removed by"
            f" value, counts as one), not {count}: send the changes in several requests."
        )
    if characters > MAX_PARSED_PATH_CHARACTERS:
        raise InvalidValueException(
            detail=f"A Group PATCH's paths and path-less attribute names hold at most"
            f" {MAX_PARSED_PATH_CHARACTERS} characters besides those adding and removing members,"
            f" not {characters}: send the changes in several requests."
        )
