"""PATCH /Groups/{id} (RFC 7644 §3.5.2) → one ``PatchGroup`` command, without reading the team first.

Membership travels as deltas, so a one-member change costs the same on any team size. scim2-models'
``PatchOp[Group]`` validates the request and parses its paths and filters (``scim.policy``: unknown
attributes ignored, Entra ID's remove-by-value accepted); the meaning of each operation is read here
from those parsed trees — except the plain membership operations identity providers send by the
thousand, read apart in linear time (``plain_members.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    InvalidFilterException,
    InvalidPathException,
    InvalidSyntaxException,
    InvalidValueException,
    PatchOp,
    PatchOperation,
    Path,
)
from scim2_models.path import CompareOperator, Comparison, FilterNode, LogicalExpr, LogicalOperator

from contracts.listing import MAX_INDEX
from contracts.scim import ScimGroup
from contracts.teams import MembershipChange, MembershipOp, PatchGroup
from services.gateway.http.errors import refusal
from services.gateway.scim.groups.plain_members import plain_membership_changes, refuse_costly
from services.gateway.scim.groups.translate import display_name_of, external_id_of, fields_of, member_ids_of
from services.gateway.scim.patch_shapes import operations_of
from services.gateway.scim.policy import GROUP_PATCH

GroupPatchOp = PatchOp[ScimGroup]
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_OPS = frozenset(op.value for op in PatchOperation.Op)
_KINDS = {"add": MembershipOp.ADD, "remove": MembershipOp.REMOVE, "replace": MembershipOp.REPLACE}


@dataclass
class _Patch:
    """The command's fields, built operation by operation."""

    team_id: str
    rename_to: str | None = None
    replace_external_id: bool = False
    external_id: str | None = None
    # Each delta's ids in a dict, so a run of thousands of one-member operations is gathered in linear time.
    _runs: list[tuple[MembershipOp, dict[str, None]]] = field(default_factory=list)

    def change(self, op: MembershipOp, user_ids: tuple[str, ...]) -> None:
        last = self._runs[-1] if self._runs else None
        if last is not None and op != MembershipOp.REPLACE and last[0] == op:
            # Okta sends one remove per user: consecutive adds (or removes) are one delta.
            last[1].update(dict.fromkeys(user_ids))
        elif op == MembershipOp.REPLACE or user_ids:
            self._runs.append((op, dict.fromkeys(user_ids)))

    @property
    def changes(self) -> tuple[MembershipChange, ...]:
        return tuple(MembershipChange(op=op, user_ids=tuple(ids)) for op, ids in self._runs)


def group_patch(
    body: Any, *, team_id: str, expected_version: int | None = None, reply_members_up_to: int = MAX_INDEX
) -> PatchGroup:
    operations = _check_operations(body)
    plain = plain_membership_changes(operations)
    refuse_costly(operations, plain)
    parsed_at = [index for index in range(len(operations)) if index not in plain]
    # The library checks the PatchOp itself (schemas) even when every operation was read apart.
    sent = [operations[i] for i in parsed_at] or [_CHANGES_NOTHING]
    validated = _parsed({**body, "Operations": sent}, parsed_at)
    parsed = iter(validated.operations or ())
    patch = _Patch(team_id=team_id)
    for index in range(len(operations)):
        if index in plain:
            patch.change(*plain[index])
        else:
            _apply(patch, f"Operations.{index}", next(parsed))
    return PatchGroup(
        team_id=team_id,
        rename_to=patch.rename_to,
        replace_external_id=patch.replace_external_id,
        external_id=patch.external_id,
        changes=patch.changes,
        expected_version=expected_version,
        reply_members_up_to=reply_members_up_to,
    )


_CHANGES_NOTHING = {"op": "add", "path": "members", "value": []}


def added_member_ids(command: PatchGroup) -> tuple[str, ...]:
    """The ids a patch adds or replaces with (removed ones need not be users any more)."""
    ids = (user_id for c in command.changes if c.op != MembershipOp.REMOVE for user_id in c.user_ids)
    return tuple(dict.fromkeys(ids))


def _parsed(body: dict[str, Any], sent_at: list[int]) -> GroupPatchOp:
    """``sent_at``: each operation's position in the request, for the errors."""
    try:
        return GroupPatchOp.model_validate(
            body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=GROUP_PATCH
        )
    except ValidationError as error:
        raise refusal(error, operations_sent_at=sent_at) from None


def _check_operations(body: Any) -> list[dict[str, Any]]:
    """The operations. A malformed one is invalidSyntax here, as Roster always answered for groups
    (scim2-models reads an unknown ``op`` as invalidValue, which the Users endpoint keeps answering)."""
    operations = operations_of(body)
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise InvalidSyntaxException(detail=f"PATCH Operations.{index} must be an object.")
        op = next((v for k, v in operation.items() if k.lower() == "op"), None)
        if op is None:
            raise InvalidSyntaxException(
                detail=f'PATCH Operations.{index} has no "op": use add, remove or replace.'
            )
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise InvalidSyntaxException(
                detail=f"PATCH Operations.{index}: op {op!r} is not supported; use add, remove or replace."
            )
    return operations


def _apply(patch: _Patch, where: str, operation: PatchOperation[ScimGroup]) -> None:
    op, path, value = operation.op.value, operation.path, operation.value
    if path is None:
        _apply_path_less(patch, op, value, where)
        return
    binding = path.resolve()
    attribute = (binding.field_name, binding.sub_field_name) if binding is not None else None
    if attribute == ("display_name", None):
        # scim2-models refuses a remove of this required attribute first (mutability).
        patch.rename_to = display_name_of(value)
    elif attribute == ("external_id", None):
        patch.replace_external_id = True
        patch.external_id = None if op == "remove" else external_id_of(value)
    elif attribute == ("members", None) and path.value_filter is None:
        _apply_members(patch, op, value, where)
    elif attribute == ("members", None):
        _apply_member_filter(patch, op, path, where)
    else:
        raise InvalidPathException(
            detail=f"PATCH {where}: path {str(path)!r} cannot be changed;"
            " use displayName, externalId or members."
        )


def _apply_path_less(patch: _Patch, op: str, value: Any, where: str) -> None:
    """RFC 7644 §3.5.2.1/3: the value's attributes are added or replaced, e.g. Okta's rename
    ``{"id": …, "displayName": …}`` sent with every membership update (names read by ``fields_of``)."""
    # scim2-models refuses a path-less remove (noTarget) and a value that is no object first.
    assert op != "remove" and isinstance(value, dict), (op, type(value))
    fields = fields_of(value)
    given_id = fields.get("id")
    if given_id is not None and given_id != patch.team_id:
        raise InvalidValueException(
            detail=f'PATCH {where}: id "{given_id}" is not this group\'s id "{patch.team_id}".'
        )
    if "displayname" in fields:
        patch.rename_to = display_name_of(fields["displayname"])
    if "externalid" in fields:
        patch.replace_external_id = True
        patch.external_id = external_id_of(fields["externalid"])
    if "members" in fields:
        _apply_members(patch, op, fields["members"], where)


def _apply_members(patch: _Patch, op: str, value: Any, where: str) -> None:
    """A member list to add, to replace with, or (Entra ID's remove by value) to remove."""
    if op == "remove" and value is None:
        patch.change(MembershipOp.REPLACE, ())  # RFC 7644 §3.5.2.2: every member goes
        return
    patch.change(_KINDS[op], member_ids_of(value, where=f"PATCH {where}"))


def _apply_member_filter(patch: _Patch, op: str, path: Path[ScimGroup], where: str) -> None:
    """Okta's remove: ``members[value eq "<id>"]``, several joined with ``or`` (RFC 7644 §3.5.2.2)."""
    if op != "remove":
        raise InvalidPathException(
            detail=f"PATCH {where}: {op} with a member filter is not supported;"
            ' add or replace path "members".'
        )
    assert path.value_filter is not None
    patch.change(MembershipOp.REMOVE, tuple(dict.fromkeys(_filtered_ids(path.value_filter, path, where))))


def _filtered_ids(node: FilterNode, path: Path[ScimGroup], where: str) -> list[str]:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        return [user_id for term in node.terms for user_id in _filtered_ids(term, path, where)]
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.lower() == "value"
        and node.attr_path.sub_attr is None
        and node.attr_path.uri is None
        and isinstance(node.value, str)
    ):
        return [node.value]
    raise InvalidFilterException(
        detail=f'PATCH {where}: only members[value eq "<user id>"] (optionally joined with "or")'
        f" selects members to remove, not {str(path)!r}."
    )
