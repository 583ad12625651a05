"""PATCH /Groups/{id} (RFC 7644 §3.5.2) → one ``PatchGroup`` command, without reading the team first.

Membership travels as deltas, so a one-member change costs the same on any team size. The envelope,
op names and paths are validated by scim2-models' ``PatchOp[Group]``; the meaning of each operation is
read here, because IdPs send shapes the library refuses (Entra's remove with a value list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp

from contracts.scim import GROUP_URN, ScimGroup
from contracts.teams import MembershipChange, MembershipOp, PatchGroup
from contracts.users import MAX_INDEX
from services.gateway.errors import ScimProblem
from services.gateway.group_translate import display_name_of, external_id_of, member_ids_of

GroupPatchOp = PatchOp[ScimGroup]
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_OPS = frozenset({"add", "remove", "replace"})
_PATH_LESS_KEYS = frozenset({"id", "displayname", "externalid", "members"})
# RFC 7644 §3.5.2.2: members[value eq "id"], possibly several joined with "or".
_VALUE_EQ = re.compile(r'\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*', re.IGNORECASE)
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)


@dataclass
class _Patch:
    """The command's fields, built operation by operation."""

    team_id: str
    rename_to: str | None = None
    replace_external_id: bool = False
    external_id: str | None = None
    changes: list[MembershipChange] = field(default_factory=list)

    def change(self, op: MembershipOp, user_ids: tuple[str, ...]) -> None:
        last = self.changes[-1] if self.changes else None
        if last is not None and op != MembershipOp.REPLACE and last.op == op:
            # Okta sends one remove per user: consecutive adds (or removes) are one delta.
            merged = tuple(dict.fromkeys((*last.user_ids, *user_ids)))
            self.changes[-1] = MembershipChange(op=op, user_ids=merged)
        elif op == MembershipOp.REPLACE or user_ids:
            self.changes.append(MembershipChange(op=op, user_ids=user_ids))


def group_patch(
    body: Any, *, team_id: str, expected_version: int | None = None, reply_members_up_to: int = MAX_INDEX
) -> PatchGroup:
    operations = _operations(body)
    _validate_envelope(body, operations)
    patch = _Patch(team_id=team_id)
    for index, operation in enumerate(operations):
        _apply(patch, index, operation)
    return PatchGroup(
        team_id=team_id,
        rename_to=patch.rename_to,
        replace_external_id=patch.replace_external_id,
        external_id=patch.external_id,
        changes=tuple(patch.changes),
        expected_version=expected_version,
        reply_members_up_to=reply_members_up_to,
    )


def added_member_ids(command: PatchGroup) -> tuple[str, ...]:
    """The ids a patch adds or replaces with (removed ones need not be users any more)."""
    ids = (user_id for c in command.changes if c.op != MembershipOp.REMOVE for user_id in c.user_ids)
    return tuple(dict.fromkeys(ids))


def _operations(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise ScimProblem(400, "The request body must be a JSON object (a PatchOp).", "invalidSyntax")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise ScimProblem(400, "A PatchOp needs a non-empty Operations list.", "invalidValue")
    for index, operation in enumerate(operations):
        if not isinstance(operation, dict):
            raise ScimProblem(400, f"PATCH Operations.{index} must be an object.", "invalidSyntax")
        op = _field(operation, "op")
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise ScimProblem(
                400,
                f"PATCH Operations.{index}: op {op!r} is not supported; use add, remove or replace.",
                "invalidSyntax",
            )
    return operations


def _field(operation: dict[str, Any], name: str) -> Any:
    return next((v for k, v in operation.items() if k.lower() == name), None)


def _for_validation(operation: dict[str, Any]) -> dict[str, Any]:
    """What scim2-models judges: the op and path, and a path-less value's known attributes (unknown
    ones are ignored, RFC 7644 §3.3). A remove's value (Entra ID's member list) is read here."""
    op = str(_field(operation, "op")).lower()
    path = _field(operation, "path")
    value = _field(operation, "value")
    checked: dict[str, Any] = {"op": op}
    if path is not None:
        checked["path"] = path
    if op != "remove":
        if path is None and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k.lower() in _PATH_LESS_KEYS - {"id"}}
        checked["value"] = value
    return checked


def _validate_envelope(body: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    request = {**body, "Operations": [_for_validation(operation) for operation in operations]}
    request = {k: v for k, v in request.items() if k.lower() != "operations" or k == "Operations"}
    try:
        GroupPatchOp.model_validate(request, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    except ValidationError as error:
        first = error.errors()[0]
        context = first.get("ctx") or {}
        where = ".".join(str(part) for part in first["loc"])
        detail = f"PATCH {where}: {first['msg']}." if where else f"PATCH: {first['msg']}."
        status = int(context.get("status", 400))
        raise ScimProblem(status, detail, context.get("scim_type") or "invalidValue") from None


def _bare_path(path: str) -> str:
    if path.lower().startswith(GROUP_URN.lower() + ":"):
        return path[len(GROUP_URN) + 1 :]
    return path


def _apply(patch: _Patch, index: int, operation: dict[str, Any]) -> None:
    op = str(_field(operation, "op")).lower()
    path = _field(operation, "path")
    value = _field(operation, "value")
    where = f"Operations.{index}"
    if path is None:
        _apply_path_less(patch, op, value, where)
        return
    bare = _bare_path(str(path))
    name = bare.lower()
    if name == "displayname":
        if op == "remove":
            raise ScimProblem(
                400, f"PATCH {where}: displayName is required and cannot be removed.", "mutability"
            )
        patch.rename_to = display_name_of(value)
    elif name == "externalid":
        patch.replace_external_id = True
        patch.external_id = None if op == "remove" else external_id_of(value)
    elif name == "members":
        _apply_members(patch, op, value, where)
    elif name.startswith("members["):
        _apply_member_filter(patch, op, bare, where)
    else:
        raise ScimProblem(
            400,
            f"PATCH {where}: path {path!r} cannot be changed; use displayName, externalId or members.",
            "invalidPath",
        )


def _apply_path_less(patch: _Patch, op: str, value: Any, where: str) -> None:
    """RFC 7644 §3.5.2.1/3: the value's attributes are added or replaced, e.g. Okta's rename
    ``{"id": …, "displayName": …}`` sent with every membership update."""
    if op == "remove" or not isinstance(value, dict):
        raise ScimProblem(
            400, f"PATCH {where}: an operation without a path needs an object value.", "noTarget"
        )
    fields = {key.lower(): item for key, item in value.items()}
    given_id = fields.get("id")
    if given_id is not None and given_id != patch.team_id:
        raise ScimProblem(
            400, f'PATCH {where}: id "{given_id}" is not this group\'s id "{patch.team_id}".', "invalidValue"
        )
    if "displayname" in fields:
        patch.rename_to = display_name_of(fields["displayname"])
    if "externalid" in fields:
        patch.replace_external_id = True
        patch.external_id = external_id_of(fields["externalid"])
    if "members" in fields:
        _apply_members(patch, op, fields["members"], where)


def _apply_members(patch: _Patch, op: str, value: Any, where: str) -> None:
    if op == "remove" and value is None:
        patch.change(MembershipOp.REPLACE, ())  # RFC 7644 §3.5.2.2: every member goes
        return
    user_ids = member_ids_of(value, where=f"PATCH {where}")
    kind = {"add": MembershipOp.ADD, "remove": MembershipOp.REMOVE, "replace": MembershipOp.REPLACE}[op]
    patch.change(kind, user_ids)


def _apply_member_filter(patch: _Patch, op: str, path: str, where: str) -> None:
    if op != "remove":
        raise ScimProblem(
            400,
            f'PATCH {where}: {op} with a member filter is not supported; add or replace path "members".',
            "invalidPath",
        )
    inner = path[len("members[") :]
    if not inner.endswith("]"):
        raise ScimProblem(400, f"PATCH {where}: path {path!r} cannot be changed.", "invalidPath")
    user_ids = []
    for term in _OR.split(inner[:-1]):
        match = _VALUE_EQ.fullmatch(term)
        if match is None:
            raise ScimProblem(
                400,
                f'PATCH {where}: only members[value eq "<user id>"] (optionally joined with "or")'
                f" selects members to remove, not {path!r}.",
                "invalidFilter",
            )
        user_ids.append(re.sub(r"\\(.)", r"\1", match.group(1)))
    patch.change(MembershipOp.REMOVE, tuple(dict.fromkeys(user_ids)))
