"""PATCH /Users/{id} (RFC 7644 §3.5.2), applied by the gateway to the user it just read.

The result goes to the users service as a ``ReplaceUser`` conditioned on the version the patch was
applied to, so a concurrent change is never overwritten. scim2-models parses and applies the operations
(unknown attributes in a value ignored, ``scim.policy``); the manager shapes Entra ID sends are
normalised first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, InvalidPathException, InvalidSyntaxException, InvalidValueException, PatchOp

from contracts.rendering import render_user
from contracts.scim import ENTERPRISE_URN, ScimUser
from contracts.users import UserProfile, UserRecord
from services.gateway.http.errors import refusal
from services.gateway.scim.policy import TOLERANT
from services.gateway.scim.users.translate import profile_of

UserPatch = PatchOp[ScimUser]
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_MANAGER_PATH = f"{ENTERPRISE_URN}:manager"
_MANAGER_NAMES = ("manager", _MANAGER_PATH.lower())
# Entra ID (Azure AD) removes a manager by a value filter, as if the attribute were multi-valued:
# {"op": "remove", "path": "manager[value eq \"<id>\"]"}; RFC 7643 §4.3 makes it single-valued.
_MANAGER_BY_VALUE = re.compile(
    rf'^(?:{re.escape(ENTERPRISE_URN)}:)?manager\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$',
    re.IGNORECASE,
)


@dataclass(frozen=True)
class UserPatchRequest:
    """The operations to apply, and for Entra's removal of a manager by value filter, the manager it
    names: that removal applies only while that is the user's manager (RFC 7644 §3.5.2.2: a filter
    matching nothing removes nothing)."""

    patch: UserPatch
    manager_named_by_removal: str | None = None


def _manager_value(value: Any) -> Any:
    """Entra ID sends the manager as a bare string, or (``add``) as ``[{"value": …}]``."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return {"value": value}
    return value


def _normalise_path_less(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    normalised = dict(value)
    for key, item in value.items():
        if key.lower() in _MANAGER_NAMES:
            normalised[key] = _manager_value(item)
        elif key.lower() == ENTERPRISE_URN.lower() and isinstance(item, dict):
            normalised[key] = {k: _manager_value(v) if k.lower() == "manager" else v for k, v in item.items()}
    return normalised


def _removes(operation: dict[str, Any]) -> bool:
    return str(operation.get("op", "")).lower() == "remove"


def _normalise(operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation
    fixed = dict(operation)
    path = fixed.get("path")
    if isinstance(path, str) and path.lower() in _MANAGER_NAMES:
        fixed["path"] = _MANAGER_PATH
        if _removes(fixed):
            # RFC 7644 §3.5.2.2: a single-valued attribute is removed whatever the value; Entra ID sends
            # the manager it removes as the value.
            fixed.pop("value", None)
        elif "value" in fixed:
            fixed["value"] = _manager_value(fixed["value"])
    elif path is None and "value" in fixed:
        fixed["value"] = _normalise_path_less(fixed["value"])
    return fixed


_OPERATION_FIELDS = ("op", "path", "value")


def _canonical_fields(operation: Any) -> Any:
    """scim2-models reads an operation's ``op``, ``path`` and ``value`` in any letter case; spelt in
    lower case here, so the normalising below sees every spelling."""
    if not isinstance(operation, dict):
        return operation
    return {
        (key.lower() if key.lower() in _OPERATION_FIELDS else key): item for key, item in operation.items()
    }


def _split_path_less(operation: Any) -> list[Any]:
    """Entra ID puts several changes in one path-less replace, keyed by paths, value filters included
    (``{"emails[type eq \"work\"].value": …, "name.givenName": …}``). A key with a value filter is
    no attribute name, so scim2-models' ignoring policy would drop it, unapplied, with a 200; it
    becomes an operation of its own with that key as its path, applied after the value's other keys,
    which RFC 7644 §3.5.2 makes the same change (and refuses, when it names no attribute, as any
    path is)."""
    if not isinstance(operation, dict) or operation.get("path") is not None:
        return [operation]
    if str(operation.get("op", "")).lower() not in ("add", "replace"):
        return [operation]  # a path-less remove is refused as it stands (noTarget)
    value = operation.get("value")
    if not isinstance(value, dict) or not any("[" in key for key in value):
        return [operation]
    plain = {key: item for key, item in value.items() if "[" not in key}
    split = [{**operation, "path": key, "value": item} for key, item in value.items() if "[" in key]
    return [{**operation, "value": plain}, *split] if plain else split


def _manager_named(operation: Any) -> str | None:
    """The manager an Entra ID removal by value filter names, else None."""
    path = operation.get("path") if isinstance(operation, dict) else None
    if not isinstance(path, str) or not _removes(operation):
        return None
    matched = _MANAGER_BY_VALUE.match(path.strip())
    return re.sub(r"\\(.)", r"\1", matched.group(1)) if matched else None


def parse_patch(body: Any) -> UserPatchRequest:
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object (a PatchOp).")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise InvalidValueException(detail="A PatchOp needs a non-empty Operations list.")
    sent_at, normalised = [], []  # the position each operation had in the request, for its errors
    manager_named = None
    for position, operation in enumerate(operations):
        for part in _split_path_less(_canonical_fields(operation)):
            if (named := _manager_named(part)) is not None:
                manager_named, part = named, {"op": "remove", "path": _MANAGER_PATH}
            sent_at.append(position)
            normalised.append(_normalise(part))
    try:
        patch = UserPatch.model_validate(
            {**body, "Operations": normalised}, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=TOLERANT
        )
    except ValidationError as error:
        raise refusal(error, relocate=lambda loc: _as_sent(loc, sent_at)) from None
    _refuse_unknown_paths(patch)
    return UserPatchRequest(patch, manager_named)


def _as_sent(loc: tuple[str | int, ...], sent_at: list[int]) -> tuple[str | int, ...]:
    """An error's location in the request as sent, not as split."""
    if len(loc) > 1 and loc[0] == "Operations" and isinstance(loc[1], int) and loc[1] < len(sent_at):
        return (loc[0], sent_at[loc[1]], *loc[2:])
    return loc


def _refuse_unknown_paths(patch: UserPatch) -> None:
    """Unknown attributes in a value are ignored like unknown attributes of a body, but an operation whose
    path names no attribute is refused (invalidPath, RFC 7644 §3.5.2), as Roster always has: under the
    ignoring policy scim2-models would drop it silently, and the client would believe it applied."""
    for operation in patch.operations or ():
        path = operation.path
        if path is not None and path.model is None and path.resolve() is None:
            raise InvalidPathException(
                path=str(path), detail=f"'{path}' is not an attribute of the User schema"
            )


def _applicable(current: UserRecord, request: UserPatchRequest) -> UserPatch:
    """Without the manager's removal when the manager Entra ID named is not the user's."""
    named = request.manager_named_by_removal
    enterprise = current.profile.enterprise
    if named is None or (enterprise is not None and enterprise.manager_ref == named):
        return request.patch
    kept = [
        operation
        for operation in request.patch.operations or ()
        if not (operation.op == "remove" and str(operation.path) == _MANAGER_PATH)
    ]
    return request.patch.model_copy(update={"operations": kept})


def patched_profile(current: UserRecord, request: UserPatchRequest) -> UserProfile:
    patch = _applicable(current, request)
    user = render_user(current, base_url="")
    try:
        patch.patch(user, scim_policy=TOLERANT)
    except ValidationError as error:
        raise refusal(error) from None
    except InvalidValueException as error:
        # scim2-models wraps a value the User refuses in its own exception, with pydantic's text as detail.
        if isinstance(error.__cause__, ValidationError):
            raise refusal(error.__cause__) from None
        raise
    return profile_of(user)
