"""PATCH /Users/{id} (RFC 7644 §3.5.2), applied by the gateway to the user it just read.

The result goes to the users service as a ``ReplaceUser`` conditioned on the version the patch was
applied to, so a concurrent change is never overwritten. scim2-models parses and applies the operations
(unknown attributes in a value ignored, ``scim.policy``); the manager shapes Entra ID sends are
normalised first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    InvalidPathException,
    InvalidSyntaxException,
    InvalidValueException,
    NoTargetException,
    PatchOp,
    Path,
    SCIMException,
)
from scim2_models.path import CompareOperator, Comparison

from contracts.rendering import render_user
from contracts.scim import ENTERPRISE_URN, ScimUser
from contracts.users import UserProfile, UserRecord
from services.gateway.http.errors import refusal
from services.gateway.scim.policy import TOLERANT
from services.gateway.scim.users import bounds
from services.gateway.scim.users.translate import profile_of

UserPatch = PatchOp[ScimUser]
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
_MANAGER_PATH = f"{ENTERPRISE_URN}:manager"
_MANAGER_NAMES = ("manager", _MANAGER_PATH.lower())


@dataclass(frozen=True)
class UserPatchRequest:
    """The operations to apply, in order. ``only_while_manager``: for an operation that is Entra ID's
    removal of a manager by value filter (by its position), the manager it names; it removes the
    manager only while that is the user's manager as the operations before it left it."""

    patch: UserPatch
    only_while_manager: dict[int, str] = field(default_factory=dict)


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
    """The manager Entra ID (Azure AD) names when it removes one by a value filter, as if the attribute
    were multi-valued: ``{"op": "remove", "path": "manager[value eq \"<id>\"]"}`` (RFC 7643 §4.3 makes
    it single-valued). None for any other operation, which is then parsed as it stands."""
    path = operation.get("path") if isinstance(operation, dict) else None
    if not isinstance(path, str) or not _removes(operation):
        return None
    try:
        parsed = Path[ScimUser](path)
    except (SCIMException, ValueError):
        return None
    selector = parsed.value_filter
    binding = parsed.resolve()
    if (
        str(parsed.attr).lower() != "manager"
        or (binding is not None and binding.urn.lower() != _MANAGER_PATH.lower())
        or not isinstance(selector, Comparison)
        or selector.op != CompareOperator.eq
        or str(selector.attr_path).lower() != "value"
        or not isinstance(selector.value, str)
    ):
        return None
    return selector.value


def parse_patch(body: Any) -> UserPatchRequest:
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object (a PatchOp).")
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise InvalidValueException(detail="A PatchOp needs a non-empty Operations list.")
    bounds.refuse_oversized_patch(operations)
    sent_at: list[int] = []  # the position each operation had in the request, for its errors
    normalised: list[Any] = []
    only_while_manager: dict[int, str] = {}
    for position, operation in enumerate(operations):
        if not isinstance(operation, dict):  # as a Group PATCH says it
            raise InvalidSyntaxException(detail=f"PATCH Operations.{position} must be an object.")
        for part in _split_path_less(_canonical_fields(operation)):
            if (named := _manager_named(part)) is not None:
                only_while_manager[len(normalised)] = named
                part = {"op": "remove", "path": _MANAGER_PATH}
            sent_at.append(position)
            normalised.append(_normalise(part))
    try:
        patch = UserPatch.model_validate(
            {**body, "Operations": normalised}, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=TOLERANT
        )
    except ValidationError as error:
        raise refusal(error, relocate=lambda loc: _as_sent(loc, sent_at)) from None
    _refuse_unknown_paths(patch)
    return UserPatchRequest(patch, only_while_manager)


def _as_sent(loc: tuple[str | int, ...], sent_at: list[int]) -> tuple[str | int, ...]:
    """An error's location in the request as sent, not as split."""
    if len(loc) > 1 and loc[0] == "Operations" and isinstance(loc[1], int) and loc[1] < len(sent_at):
        return (loc[0], sent_at[loc[1]], *loc[2:])
    return loc


def _refuse_unknown_paths(patch: UserPatch) -> None:
    """Unknown attributes in a value are ignored like unknown attributes of a body, but an operation whose
    path names no attribute of the User's schemas is refused (invalidPath, RFC 7644 §3.5.2): under the
    ignoring policy scim2-models would drop it silently, and the client would believe it applied.

    A path into an extension Roster does not have is ignored instead, as that extension is in a body:
    Entra ID sends each mapped custom attribute (``urn:…:extension:<custom>:2.0:User:<name>``) as an
    operation of its own, in the PATCH that also deactivates the user, which must not fail for it."""
    for operation in patch.operations or ():
        path = operation.path
        if path is None or path.model is not None or path.resolve() is not None:
            continue
        if not _in_an_unknown_extension(path):
            raise InvalidPathException(
                path=str(path), detail=f"'{path}' is not an attribute of the User schema"
            )


_USER_SCHEMAS = frozenset(urn.lower() for urn in (ScimUser.__schema__, *ScimUser.get_extension_models()))


def _in_an_unknown_extension(path: Path[ScimUser]) -> bool:
    """``urn:…:<schema>:<attribute>`` (RFC 7644 §3.10) whose schema is none of the User's."""
    return path.schema is not None and path.schema.lower() not in _USER_SCHEMAS


def _manager_of(user: ScimUser) -> str | None:
    extension = user[EnterpriseUser]
    return extension.manager.value if extension is not None and extension.manager is not None else None


def _apply(user: ScimUser, request: UserPatchRequest) -> None:
    """The operations in order (RFC 7644 §3.5.2); Entra ID's removal of a manager it names by value
    filter is skipped while another is the manager. RFC 7644 §3.5.2.2 would answer 400 ``noTarget``
    for a filter matching nothing: applied as a no-op instead, so a sync whose manager changed meanwhile
    does not fail, as Roster treats Entra ID's removal of a member that is not one.

    The operations between two such removals are applied in one call: scim2-models checks the whole
    user at the end of each call: one call per operation would cost the operations times its size."""
    operations = list(request.patch.operations or ())
    start = 0
    for position, named in sorted(request.only_while_manager.items()):
        _apply_run(user, request.patch, operations[start:position])
        if _manager_of(user) == named:
            _apply_run(user, request.patch, [operations[position]])
        start = position + 1
    _apply_run(user, request.patch, operations[start:])


def _apply_run(user: ScimUser, patch: UserPatch, operations: list[Any]) -> None:
    if not operations:
        return
    try:
        patch.model_copy(update={"operations": operations}).patch(user, scim_policy=TOLERANT)
    except NoTargetException as error:
        raise _as_named_in_the_path(error, operations) from None


def _as_named_in_the_path(error: NoTargetException, operations: list[Any]) -> NoTargetException:
    """scim2-models names the attribute a value filter matched nothing of by its Python field
    (``phone_numbers``); the client is told the name its own path gave it (``phoneNumbers``)."""
    field = error.detail.split("'")[1] if error.detail.startswith("no value of '") else None
    for operation in operations:
        written = str(operation.path).split("[", 1)[0] if operation.path is not None else ""
        if field is not None and "[" in str(operation.path) and _same_attribute(written, field):
            return NoTargetException(detail=f"no value of '{written}' matches the path filter")
    return error


def _same_attribute(written: str, field: str) -> bool:
    """``phoneNumbers`` (in any case, or as ``urn:…:User:phoneNumbers``) is the field ``phone_numbers``."""
    return written.rsplit(":", 1)[-1].lower() == field.replace("_", "").lower()


def patched_profile(current: UserRecord, request: UserPatchRequest) -> UserProfile:
    user = render_user(current, base_url="")
    try:
        _apply(user, request)
    except ValidationError as error:
        raise refusal(error) from None
    except InvalidValueException as error:
        # scim2-models wraps a value the User refuses in its own exception, with pydantic's text as detail.
        if isinstance(error.__cause__, ValidationError):
            raise refusal(error.__cause__) from None
        raise
    after = _without_stale_manager_details(current.profile, profile_of(user))
    bounds.refuse_oversized_user(after, before=current.profile)
    return after


def _without_stale_manager_details(before: UserProfile, after: UserProfile) -> UserProfile:
    """A PATCH that names another manager (Entra ID's bare ``"manager": "<id>"``, a ``manager.value``
    replace) and leaves ``displayName`` and ``$ref`` as they were has them describe the previous one:
    they go with it, rather than show one person's name beside another's reference."""
    old, new = before.enterprise, after.enterprise
    if old is None or new is None or old.manager_ref == new.manager_ref:
        return after
    kept = {
        "manager_display": None if new.manager_display == old.manager_display else new.manager_display,
        "manager_uri": None if new.manager_uri == old.manager_uri else new.manager_uri,
    }
    return after.model_copy(update={"enterprise": new.model_copy(update=kept)})
