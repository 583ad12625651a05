"""PATCH /Users/{id} (RFC 7644 §3.5.2), applied by the gateway to the user it just read.

The result goes to the users service as a ``ReplaceUser`` conditioned on the version the patch was
applied to, so a concurrent change is never overwritten. IdP quirks are normalised first.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, PatchOp, SCIMException

from contracts.scim import ENTERPRISE_URN, ScimUser
from contracts.users import UserProfile, UserRecord
from services.gateway.errors import ScimProblem
from services.gateway.translate import profile_of, scim_user

UserPatch = PatchOp[ScimUser]
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_MANAGER_PATH = f"{ENTERPRISE_URN}:manager"


def _manager_value(value: Any) -> Any:
    """Entra ID sends the manager as a bare string, or (``add``) as ``[{"value": …}]``."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return {"value": value}
    return value


def _declared(key: str, item: Any) -> bool:
    probe = {"schemas": [PATCH_OP_URN], "Operations": [{"op": "replace", "value": {key: item}}]}
    try:
        UserPatch.model_validate(probe, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    except ValidationError as error:
        return not any("not declared" in e["msg"] for e in error.errors())
    return True


def _normalise_path_less(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    # Unknown attributes are ignored, as on POST (RFC 7644 §3.3); IdPs send what admins map.
    value = {key: item for key, item in value.items() if _declared(key, item)}
    normalised = dict(value)
    for key, item in value.items():
        if key.lower() in ("manager", _MANAGER_PATH.lower()):
            normalised[key] = _manager_value(item)
        elif key.lower() == ENTERPRISE_URN.lower() and isinstance(item, dict):
            normalised[key] = {k: _manager_value(v) if k.lower() == "manager" else v for k, v in item.items()}
    return normalised


def _normalise(operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation
    fixed = dict(operation)
    path = fixed.get("path")
    if isinstance(path, str) and path.lower() in ("manager", _MANAGER_PATH.lower()):
        fixed["path"] = _MANAGER_PATH
        if "value" in fixed:
            fixed["value"] = _manager_value(fixed["value"])
    elif path is None and "value" in fixed:
        fixed["value"] = _normalise_path_less(fixed["value"])
    return fixed


def parse_patch(body: Any) -> UserPatch:
    if not isinstance(body, dict):
        raise ScimProblem(400, "The request body must be a JSON object (a PatchOp).", "invalidSyntax")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise ScimProblem(400, "A PatchOp needs a non-empty Operations list.", "invalidValue")
    request = {**body, "Operations": [_normalise(op) for op in operations]}
    try:
        return UserPatch.model_validate(request, scim_ctx=Context.RESOURCE_PATCH_REQUEST)
    except ValidationError as error:
        raise _problem(error) from None


def _problem(error: ValidationError) -> ScimProblem:
    first = error.errors()[0]
    context = first.get("ctx") or {}
    where = ".".join(str(part) for part in first["loc"])
    detail = f"PATCH {where}: {first['msg']}." if where else f"PATCH: {first['msg']}."
    return ScimProblem(int(context.get("status", 400)), detail, context.get("scim_type") or "invalidValue")


def patched_profile(current: UserRecord, patch: UserPatch) -> UserProfile:
    user = scim_user(current, base_url="")
    try:
        patch.patch(user)
    except SCIMException as error:
        raise ScimProblem(error.status, f"PATCH: {error.detail}.", error.scim_type or None) from None
    except ValidationError as error:
        raise _problem(error) from None
    return profile_of(user)
