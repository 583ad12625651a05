"""How many values of multi-valued attributes applying a User PATCH goes through, counted before any
operation is applied, and a bound on it.

scim2-models goes through every value of a multi-valued attribute for each operation on it: a value
filter (``emails[type eq "work"].value``) is tried on each value, building a validator per comparison;
a sub-attribute path (``emails.display``) writes each value; after each change it compares the whole
attribute before and after. Each is ~0.05-0.1 ms a value, so within every other bound one PATCH could
hold a gateway thread for seconds: 100 replaces through a filter on a user of 100 e-mails took 1.4 s,
99 replaces of ``ims.display`` after adding 900 ``ims`` 4.1 s (BENCHMARKS.md). The count is an upper
bound: the values an operation may meet are those the user holds plus every value the adds and
replaces up to it carry (an attribute may grow past what a user keeps while the PATCH is applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from pydantic.alias_generators import to_camel
from scim2_models import InvalidValueException, PatchOperation, Path

from contracts.scim import ScimUser
from contracts.users import UserProfile
from servicekit.scim_filters import comparisons_in
from services.gateway.scim.patch_shapes import attribute_names
from services.gateway.scim.users.bounds import MULTI_VALUED, values_carried

MAX_VALUES_GONE_THROUGH = 3_000
"""~0.2 s of a gateway thread at most. Entra ID's PATCHes go through a few hundred values (one of 22
operations ~240, ~430 on a user holding 100 e-mails); Okta's through a few."""

_REMOVE = PatchOperation.Op.remove


def refuse_costly_value_work(operations: Sequence[PatchOperation[ScimUser]], *, held: UserProfile) -> None:
    """Each operation on a multi-valued attribute: its work per value (filter terms times passes)
    times the values the attribute may hold by then."""
    gone_through, carried = 0, 0
    for operation in operations:
        # An add or replace may add a value even when it carries none: an empty object through a
        # filter matching nothing creates the element the filter describes.
        own = 0 if operation.op == _REMOVE else max(1, values_carried(operation.value))
        for attribute, per_value in _work_per_value(operation):
            # ScimUser's fields and UserProfile's share their Python names (``phone_numbers``).
            values = len(getattr(held, attribute)) if attribute in MULTI_VALUED else 0
            gone_through += per_value * max(1, values + carried + own)
        carried += own
    if gone_through > MAX_VALUES_GONE_THROUGH:
        raise InvalidValueException(
            detail=f"A PATCH's operations on multi-valued attributes go through at most"
            f" {MAX_VALUES_GONE_THROUGH} values, not {gone_through} (each operation's filter terms and"
            " passes times the values the attribute may hold by then): send the changes in several requests."
        )


def _work_per_value(operation: PatchOperation[ScimUser]) -> list[tuple[str, int]]:
    """The multi-valued attributes (their fields) an operation goes through, and its work on each value:
    a remove selects once; an add or replace reads, then writes each key of an object value, then
    compares. A remove naming what it removes in its value (Entra ID) compares each key of each entry."""
    path, value = operation.path, operation.value
    removal = operation.op == _REMOVE
    if path is None or path.model is not None:
        return _keyed_attributes(value)
    binding = path.resolve()
    if binding is None or not binding.is_multivalued:
        return []
    if path.value_filter is not None:
        terms = comparisons_in(path.value_filter)
    elif removal and value is not None:
        terms = max(1, sum(map(_keys, value if isinstance(value, list) else [value])))
    else:
        terms = 1
    return [(binding.field_name, terms * (1 if removal else 2 + _keys(value)))]


def _keyed_attributes(value: Any) -> list[tuple[str, int]]:
    """A value without a path, or for a whole schema (``urn:…:core:2.0:User``), is written key by key,
    each key as if it were the path (RFC 7644 §3.5.2.1, §3.5.2.3), in objects at any depth: each key
    naming a multi-valued attribute (``emails``, ``ims.display``) reads, writes and compares its values."""
    fields = _multi_valued_fields()
    named = (_attribute_named(name) for name in attribute_names(value))
    return [(fields[name], 2) for name in named if name in fields]


def _keys(value: Any) -> int:
    return len(value) if isinstance(value, dict) else 0


def _attribute_named(key: str) -> str:
    """The attribute a key names, in lower case: ``urn:…:User:emails`` or ``emails.display`` name
    ``emails``."""
    return key.rsplit(":", 1)[-1].split(".", 1)[0].split("[", 1)[0].lower()


@cache
def _multi_valued_fields() -> dict[str, str]:
    """The User's multi-valued attributes, by SCIM name in lower case: their Python field names.
    ``schemas`` aside: the library does not write it from a value's keys."""
    fields: dict[str, str] = {}
    for name in ScimUser.model_fields:
        binding = Path[ScimUser](to_camel(name)).resolve()
        if binding is not None and binding.is_multivalued and name != "schemas":
            fields[to_camel(name).lower()] = binding.field_name
    return fields
