"""How a PatchOp body is read before scim2-models reads it, the same way for Users and Groups: its
fields in any letter case, each spelt once, and the attribute names a path-less value carries."""

from __future__ import annotations

import json
from typing import Any

from scim2_models import InvalidSyntaxException, InvalidValueException


def operations_of(body: Any) -> list[Any]:
    """A PatchOp's operations, as sent (each still to be checked), once the body is an object with a
    non-empty ``Operations`` list in which no field is named twice."""
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object (a PatchOp).")
    operations = field(body, "operations")
    if not isinstance(operations, list) or not operations:
        raise InvalidValueException(detail="A PatchOp needs a non-empty Operations list.")
    _refuse_names_twice(body, operations)
    return operations


def _refuse_names_twice(body: dict[str, Any], operations: list[Any]) -> None:
    """RFC 7643 §2.1: attribute names are case-insensitive, so ``path`` and ``PATH`` in one object
    (or ``Operations`` and ``operations``) name one field twice. scim2-models keeps the last spelling;
    every check made before it would read the first. Refused: 400 invalidSyntax."""
    _refuse_twice(body, "The PatchOp")
    for index, operation in enumerate(operations):
        if isinstance(operation, dict):
            _refuse_twice(operation, f"PATCH Operations.{index}")


def _refuse_twice(fields: dict[str, Any], where: str) -> None:
    seen: dict[str, str] = {}
    for name in fields:
        first = seen.setdefault(name.lower(), name)
        if first != name:
            raise InvalidSyntaxException(
                detail=f'{where} names "{first}" twice (as "{name}"): names are case-insensitive.'
            )


def field(fields: dict[str, Any], name: str) -> object:
    """A PatchOp's ``Operations``, an operation's ``op``, ``path`` or ``value``, however the client cased
    it (``name`` in lower case)."""
    return next((item for key, item in fields.items() if key.lower() == name), None)


def parsed_names(operation: dict[str, Any]) -> list[str]:
    """What scim2-models parses as paths in an operation: its path, and every attribute name in its
    value (a path-less value's are read as paths; counted whatever the path, an empty one included).
    A remove naming what it removes in its value (Entra ID) becomes a value filter of one comparison
    per key of each entry, which the library writes out and parses: each comparison counts."""
    path, value = field(operation, "path"), field(operation, "value")
    names = [path] if isinstance(path, str) else []
    if str(field(operation, "op")).lower() == "remove" and isinstance(value, list | dict):
        return [*names, *_removal_comparisons(value)]
    return [*names, *attribute_names(value)]


def _removal_comparisons(value: list[Any] | dict[str, Any]) -> list[str]:
    """``<key> eq <item>`` for each key of each entry, as the library writes it (JSON-quoted; an object or
    a list it refuses before parsing)."""
    entries = value if isinstance(value, list) else [value]
    return [
        f"{key} eq {json.dumps(item) if not isinstance(item, dict | list) else ''}"
        for entry in entries
        if isinstance(entry, dict)
        for key, item in entry.items()
    ]


def attribute_names(value: object) -> list[str]:
    """Every attribute name in a PATCH value, in objects at any depth (an extension's attributes are an
    object in it; a list holds values): scim2-models reads a path-less value's names as paths. Without
    recursion: JSON may nest deeper than Python's stack."""
    names: list[str] = []
    objects = [value] if isinstance(value, dict) else []
    while objects:
        for key, item in objects.pop().items():
            names.append(str(key))
            if isinstance(item, dict):
                objects.append(item)
    return names
