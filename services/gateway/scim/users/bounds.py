"""How much one User write may ask of the gateway.

Applying a PATCH costs, per operation, time in proportion to the user: scim2-models checks a
multi-valued attribute's values against each other as each operation is applied. That work is the
gateway's, shared by every tenant, so the operations, values and path characters one PATCH carries,
and the values a user holds, are bounded — far above what an identity provider sends (Okta and Entra ID send a
handful of operations, and a person has a few e-mails, phone numbers, addresses and roles).
"""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel
from scim2_models import InvalidValueException

from contracts.users import UserProfile
from services.gateway.scim.patch_shapes import field, parsed_names

MAX_PATCH_OPERATIONS = 100
MAX_PATCH_VALUES = 1_000
MAX_VALUES_PER_ATTRIBUTE = 100
# scim2-models parses each path (and each attribute name of a path-less value, which Entra ID keys by
# path) with lark, more than linearly in a value filter's length: 100 paths of 12,000 characters took
# it 11 s. Okta's and Entra ID's paths are tens of characters.
MAX_PATCH_PATH_CHARACTERS = 10_000

MULTI_VALUED = (
    "emails",
    "phone_numbers",
    "addresses",
    "roles",
)  # UserProfile's; to_camel names them in SCIM


def refuse_oversized_patch(operations: list[Any]) -> None:
    """Too many operations, or values in them, for one PATCH (counted as sent)."""
    refuse_too_many_operations(len(operations))
    characters = sum(_path_characters(operation) for operation in operations)
    if characters > MAX_PATCH_PATH_CHARACTERS:
        raise InvalidValueException(
            detail=f"A PATCH's paths and path-less attribute names hold at most {MAX_PATCH_PATH_CHARACTERS}"
            f" characters, not {characters}: send the changes in several requests."
        )
    values = sum(_values_in(operation) for operation in operations)
    if values > MAX_PATCH_VALUES:
        raise InvalidValueException(
            detail=f"A PATCH carries at most {MAX_PATCH_VALUES} values, not {values}:"
            " send the changes in several requests."
        )


def refuse_too_many_operations(count: int) -> None:
    """Also counted once a path-less value's keyed value filters became operations of their own
    (``patching._split_path_less``): each costs what an operation costs."""
    if count > MAX_PATCH_OPERATIONS:
        raise InvalidValueException(
            detail=f"A PATCH holds at most {MAX_PATCH_OPERATIONS} operations, not {count}:"
            " send the changes in several requests."
        )


def _path_characters(operation: Any) -> int:
    """Its path's and its value's attribute names, at any depth (a path-less value's are read as paths)."""
    if not isinstance(operation, dict):
        return 0  # refused as it stands (not an object)
    return sum(map(len, parsed_names(operation)))


def _values_in(operation: Any) -> int:
    return values_carried(field(operation, "value") if isinstance(operation, dict) else None)


def values_carried(value: Any) -> int:
    """The plain values an operation's value holds (at least one), as the values bound counts them."""
    return _values_of(value) if isinstance(value, list | dict) else 1


def _values_of(value: Any) -> int:
    """Every element of a list and every attribute of an object, at any depth, as the plain values they
    hold: a path-less value's attributes are applied one by one, each as an operation would be, so
    80,000 keys in one value cost what 80,000 operations cost."""
    if isinstance(value, list):
        return sum(max(1, _values_of(item)) for item in value)
    if isinstance(value, dict):
        return sum(max(1, _values_of(item)) for item in value.values())
    return 1


def refuse_long_lists(body: Any) -> None:
    """A POST or PUT body's lists, counted before scim2-models validates them (on the event loop, ~20 µs
    a value: 340,000 empty addresses in 1 MiB took 6.6 s; empty ones are dropped after validation, so
    the count of what a user holds would not see them): an attribute's, or an extension's attribute's."""
    if not isinstance(body, dict):
        return
    attributes = [*body.items()]
    attributes += [
        item for extension in body.values() if isinstance(extension, dict) for item in extension.items()
    ]
    for name, value in attributes:
        if isinstance(value, list) and len(value) > MAX_VALUES_PER_ATTRIBUTE:
            raise InvalidValueException(
                detail=f"{name} holds at most {MAX_VALUES_PER_ATTRIBUTE} values, not {len(value)}."
            )


def refuse_oversized_user(profile: UserProfile, *, before: UserProfile | None = None) -> None:
    """A multi-valued attribute with more values than a user may hold. A user stored with more (before
    the bound) can still be changed, as long as the change does not add to them: deactivating them
    must not fail."""
    for attribute in MULTI_VALUED:
        count = len(getattr(profile, attribute))
        if count > MAX_VALUES_PER_ATTRIBUTE and (before is None or count > len(getattr(before, attribute))):
            raise InvalidValueException(
                detail=f"{to_camel(attribute)} holds at most {MAX_VALUES_PER_ATTRIBUTE} values, not {count}."
            )
