"""The enterprise ``manager`` in a User PATCH: the shapes identity providers send, read as the one
scim2-models applies.

* Entra ID sends the manager as a bare string, or (``add``) as ``[{"value": …}]``, and removes one by
  a value filter as if the attribute were multi-valued (docs/scim-clients.md).
* ``displayName`` is stored as the identity provider sends it, on a PATCH as on a POST or PUT: Roster
  resolves the manager lazily from ``value`` (docs/scim-clients.md) and has no other name to give it.
  scim2-models holds it read-only (RFC 7643 §4.3) and would refuse a PATCH that carries it, the
  manager object a client just read included; so it is lifted out of the operation before parsing
  and put back after applying.
* ``{"value": null}`` (a manager with no value) removes the manager, as a null value does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim2_models import EnterpriseUser, InvalidValueException, SCIMException
from scim2_models import Path as ScimPath
from scim2_models.path import CompareOperator, Comparison

from contracts.scim import ENTERPRISE_URN, ScimUser
from contracts.users import EnterpriseInfo, UserProfile

MANAGER_PATH = f"{ENTERPRISE_URN}:manager"
_MANAGER_NAMES = ("manager", MANAGER_PATH.lower())
DISPLAY_PATHS = ("manager.displayname", f"{MANAGER_PATH}.displayname".lower())


@dataclass(frozen=True)
class SentDisplay:
    """A manager ``displayName`` an operation carried; ``manager``: the manager it came with, None
    when the operation set the display name alone (``manager.displayName``)."""

    display: str | None
    manager: str | None = None


_DISPLAY_ONLY = object()  # a manager value that held nothing but a display name


def manager_object(value: Any) -> Any:
    """The manager as an object: Entra ID sends a bare string, or (``add``) a list of one."""
    if isinstance(value, list):
        if len(value) > 1:
            raise InvalidValueException(detail="manager is single-valued (RFC 7643 §4.3): send one manager.")
        value = value[0] if value else None
    if isinstance(value, str):
        return {"value": value}
    return value


def _lift_display(value: Any, lifted: list[SentDisplay]) -> Any:
    """The manager object without its ``displayName``, which is kept in ``lifted``. RFC 7644 §3.5.2.3:
    sub-attributes a replace leaves out stay as they were, so an object with nothing but the display
    name changes only that (``_DISPLAY_ONLY``); one whose every sub-attribute is null is no manager."""
    value = manager_object(value)
    if not isinstance(value, dict):
        return value
    display_keys = [key for key in value if key.lower() == "displayname"]
    rest = {key: item for key, item in value.items() if key not in display_keys}
    if display_keys:
        manager = next((item for key, item in rest.items() if key.lower() == "value"), None)
        lifted.append(SentDisplay(display=value[display_keys[-1]], manager=manager))
        if not rest:
            return _DISPLAY_ONLY
    return None if all(item is None for item in rest.values()) else rest


def _in_extension(value: Any, lifted: list[SentDisplay]) -> Any:
    """The enterprise extension's attributes, its manager read as above."""
    if not isinstance(value, dict):
        return value
    read = {k: _lift_display(v, lifted) if k.lower() == "manager" else v for k, v in value.items()}
    return {k: v for k, v in read.items() if v is not _DISPLAY_ONLY}


def _path_less(value: Any, lifted: list[SentDisplay]) -> Any:
    if not isinstance(value, dict):
        return value
    normalised = {}
    for key, item in value.items():
        if key.lower() in _MANAGER_NAMES:
            # Qualified: scim2-models reads a bare "manager" key as no attribute of the core schema
            # and would ignore it, answering 200 for a change it did not make.
            normalised[MANAGER_PATH] = _lift_display(item, lifted)
        elif key.lower() == ENTERPRISE_URN.lower():
            normalised[key] = _in_extension(item, lifted)
        else:
            normalised[key] = item
    return {k: v for k, v in normalised.items() if v is not _DISPLAY_ONLY}


def _removes(operation: dict[str, Any]) -> bool:
    return str(operation.get("op", "")).lower() == "remove"


def normalise(operation: Any) -> tuple[Any, SentDisplay | None]:
    """The operation as scim2-models reads it, and the manager display name it carried. None for the
    operation itself when it only set the display name (applied after the others, ``with_display``)."""
    if not isinstance(operation, dict):
        return operation, None
    fixed, lifted = dict(operation), list[SentDisplay]()
    path = fixed.get("path")
    lowered = path.lower() if isinstance(path, str) else ""
    if lowered in DISPLAY_PATHS:
        display = None if _removes(fixed) else fixed.get("value")
        if not isinstance(display, str | None):
            raise InvalidValueException(detail="manager.displayName must be a string.")
        return None, SentDisplay(display=display)
    if lowered.startswith("manager."):  # a sub-attribute, named unqualified
        fixed["path"] = f"{MANAGER_PATH}{lowered[len('manager') :]}"
    elif lowered in _MANAGER_NAMES:
        fixed["path"] = MANAGER_PATH
        if _removes(fixed):
            # RFC 7644 §3.5.2.2: a single-valued attribute is removed whatever the value; Entra ID sends
            # the manager it removes as the value.
            fixed.pop("value", None)
        elif "value" in fixed:
            fixed["value"] = _lift_display(fixed["value"], lifted)
            if fixed["value"] is _DISPLAY_ONLY:
                return None, lifted[-1]
            if fixed["value"] is None:  # no manager: an add of none removes it, as a replace does
                fixed = {"op": "remove", "path": MANAGER_PATH}
    elif lowered == ENTERPRISE_URN.lower() and "value" in fixed:
        fixed["value"] = _in_extension(fixed["value"], lifted)
    elif path is None and "value" in fixed:
        fixed["value"] = _path_less(fixed["value"], lifted)
    return fixed, (lifted[-1] if lifted else None)


def manager_named(operation: Any) -> str | None:
    """The manager Entra ID (Azure AD) names when it removes one by a value filter, as if the attribute
    were multi-valued: ``{"op": "remove", "path": "manager[value eq \"<id>\"]"}`` (RFC 7643 §4.3 makes
    it single-valued). None for any other operation, which is then parsed as it stands."""
    path = operation.get("path") if isinstance(operation, dict) else None
    if not isinstance(path, str) or not _removes(operation):
        return None
    try:
        parsed = ScimPath[ScimUser](path)
    except (SCIMException, ValueError):
        return None
    selector = parsed.value_filter
    binding = parsed.resolve()
    if (
        str(parsed.attr).lower() != "manager"
        or (binding is not None and binding.urn.lower() != MANAGER_PATH.lower())
        or not isinstance(selector, Comparison)
        or selector.op != CompareOperator.eq
        or str(selector.attr_path).lower() != "value"
        or not isinstance(selector.value, str)
    ):
        return None
    return selector.value


def manager_of(user: ScimUser) -> str | None:
    extension = user[EnterpriseUser]
    return extension.manager.value if extension is not None and extension.manager is not None else None


def without_stale_details(before: UserProfile, after: UserProfile) -> UserProfile:
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


def with_display(profile: UserProfile, sent: SentDisplay | None) -> UserProfile:
    """The last display name the PATCH sent, kept if the manager it came with is still the manager.
    One sent alone names whichever manager the user has, or is the manager's only sub-attribute, as a
    POST or PUT of ``"manager": {"displayName": …}`` stores it."""
    enterprise = profile.enterprise
    if sent is None or (enterprise is None and sent.display is None):
        return profile
    if sent.manager is not None and (enterprise is None or sent.manager != enterprise.manager_ref):
        return profile
    shown = (enterprise or EnterpriseInfo()).model_copy(update={"manager_display": sent.display})
    return profile.model_copy(update={"enterprise": shown})
