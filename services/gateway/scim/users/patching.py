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
    InvalidPathException,
    InvalidSyntaxException,
    InvalidValueException,
    NoTargetException,
    PatchOp,
    Path,
)

from contracts.rendering import render_user
from contracts.scim import ScimUser, qualified_user_path
from contracts.users import UserProfile, UserRecord
from services.gateway.http.errors import refusal
from services.gateway.scim import patch_shapes
from services.gateway.scim.policy import TOLERANT
from services.gateway.scim.users import bounds, manager_shapes, value_work
from services.gateway.scim.users.translate import profile_of

UserPatch = PatchOp[ScimUser]
PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass(frozen=True)
class UserPatchRequest:
    """The operations to apply, in order. ``only_while_manager``: for an operation that is Entra ID's
    removal of a manager by value filter (by its position), the manager it names; it removes the
    manager only while that is the user's manager as the operations before it left it."""

    patch: UserPatch | None  # None: nothing but a manager display name (manager_shapes.py)
    only_while_manager: dict[int, str] = field(default_factory=dict)
    manager_display: manager_shapes.SentDisplay | None = None  # the last one sent, put back after applying


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
    path is). So does the manager's display name (``_applied_as_a_path``)."""
    if not isinstance(operation, dict) or operation.get("path") is not None:
        return [operation]
    if str(operation.get("op", "")).lower() not in ("add", "replace"):
        return [operation]  # a path-less remove is refused as it stands (noTarget)
    value = operation.get("value")
    if not isinstance(value, dict) or not any(map(_applied_as_a_path, value)):
        return [operation]
    plain = {key: item for key, item in value.items() if not _applied_as_a_path(key)}
    split = [
        {**operation, "path": key, "value": item} for key, item in value.items() if _applied_as_a_path(key)
    ]
    return [{**operation, "value": plain}, *split] if plain else split


def _applied_as_a_path(key: str) -> bool:
    """A value filter, or the manager's display name, which scim2-models holds read-only and
    ``manager_shapes`` lifts out of an operation whose path names it."""
    return "[" in key or key.lower() in manager_shapes.DISPLAY_PATHS


def _extension_path_qualified(operation: Any) -> Any:
    """A User extension's attribute named bare (``department``) as a path or as a key of a path-less
    value, qualified by its URN, as filters, ``sortBy`` and ``attributes`` read it
    (``qualified_user_path``). Left bare, scim2-models would find no such core attribute: a path
    refused, a key ignored with a 200 for a change not made."""
    if not isinstance(operation, dict):
        return operation
    path, value = operation.get("path"), operation.get("value")
    if isinstance(path, str):
        return operation if "[" in path else {**operation, "path": qualified_user_path(path)}
    if path is None and isinstance(value, dict):
        keys = {key: key if "[" in key else qualified_user_path(key) for key in value}
        return {**operation, "value": {keys[key]: item for key, item in value.items()}}
    return operation


def _null_as_removal(operation: Any) -> Any:
    """An add or replace of ``null`` through a value filter removes what it names (RFC 7643 §2.5: null
    is unassigned). Applied as sent, a filter matching nothing would create an element holding nothing
    but the filter's own attribute (``{"type": "work"}``), as Entra ID's creating paths do for a value."""
    if not isinstance(operation, dict) or "[" not in str(operation.get("path", "")):
        return operation
    setting = str(operation.get("op", "")).lower() in ("add", "replace")
    if setting and "value" in operation and operation["value"] is None:
        return {"op": "remove", "path": operation["path"]}
    return operation


def parse_patch(body: Any) -> UserPatchRequest:
    operations = patch_shapes.operations_of(body)
    bounds.refuse_oversized_patch(operations)
    sent_at: list[int] = []  # the position each operation had in the request, for its errors
    normalised: list[Any] = []
    only_while_manager: dict[int, str] = {}
    display: manager_shapes.SentDisplay | None = None
    for position, operation in enumerate(operations):
        if not isinstance(operation, dict):  # as a Group PATCH says it
            raise InvalidSyntaxException(detail=f"PATCH Operations.{position} must be an object.")
        for part in _split_path_less(_canonical_fields(operation)):
            if (named := manager_shapes.manager_named(part)) is not None:
                only_while_manager[len(normalised)] = named
                part = {"op": "remove", "path": manager_shapes.MANAGER_PATH}
            read, sent_display = manager_shapes.normalise(part)
            read = _null_as_removal(_extension_path_qualified(read))
            display = sent_display or display
            if read is not None:
                sent_at.append(position)
                normalised.append(read)
    bounds.refuse_too_many_operations(len(normalised))
    if not normalised:  # nothing but a manager display name: no operation left for scim2-models
        _refuse_other_messages(body)
        return UserPatchRequest(None, only_while_manager, display)
    try:
        patch = UserPatch.model_validate(
            {**body, "Operations": normalised}, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=TOLERANT
        )
    except ValidationError as error:
        raise refusal(error, operations_sent_at=sent_at) from None
    _refuse_unknown_paths(patch)
    return UserPatchRequest(patch, only_while_manager, display)


def _refuse_other_messages(body: dict[str, Any]) -> None:
    """A PatchOp's ``schemas`` as scim2-models judges it, in its words (without ``Operations``, which
    it requires only in a request's context)."""
    schemas = next((v for k, v in body.items() if k.lower() == "schemas"), None)
    try:
        UserPatch.model_validate({"schemas": schemas} if schemas is not None else {})
    except ValidationError as error:
        raise refusal(error) from None


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


def _apply(user: ScimUser, request: UserPatchRequest) -> None:
    """The operations in order (RFC 7644 §3.5.2); Entra ID's removal of a manager it names by value
    filter is skipped while another is the manager. RFC 7644 §3.5.2.2 would answer 400 ``noTarget``
    for a filter matching nothing: applied as a no-op instead, so a sync whose manager changed meanwhile
    does not fail, as Roster treats Entra ID's removal of a member that is not one.

    The operations between two such removals are applied in one call: scim2-models checks the whole
    user at the end of each call: one call per operation would cost the operations times its size."""
    if request.patch is None:
        return
    operations = list(request.patch.operations or ())
    start = 0
    for position, named in sorted(request.only_while_manager.items()):
        _apply_run(user, request.patch, operations[start:position])
        if manager_shapes.manager_of(user) == named:
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
    if request.patch is not None:
        value_work.refuse_costly_value_work(request.patch.operations or (), held=current.profile)
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
    after = manager_shapes.without_stale_details(current.profile, profile_of(user))
    after = manager_shapes.with_display(after, request.manager_display)
    bounds.refuse_oversized_user(after, before=current.profile)
    return after
