"""A user as SCIM filters and ``sortBy`` see it: the attributes clients read, and their index entries.

The search index must hold exactly the values a client reads back, so ``index_entries`` reads them off
the resource ``contracts/rendering.py`` renders (the gateway answers with the same rendering), attribute
by attribute through ``CATALOG``, the attributes of ``contracts/scim.py``'s User resolved by scim2-models.

Every value is indexed as one *key*: the string comparisons use in its place, computed by
scim2-models' own ``AttributeBinding.comparable`` (NFC, lower-cased unless the attribute is
caseExact), so the database compares exactly as ``ScimFilter.match`` does. Booleans and dateTimes get
keys whose string order is their order (``false`` < ``true``; UTC ``YYYY-MM-DDTHH:MM:SS.ffffff``), so
one indexed column serves every attribute: a path has a single type and is only ever compared with
values of that type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from inspect import isclass
from typing import Any

from scim2_models import BaseModel
from scim2_models.path import AttributeBinding, AttrPath, ScimFilter

from contracts import rendering
from contracts.rendering import CORE_URN, render_user
from contracts.scim import ROSTER_USER_URN, ScimUser
from contracts.users import UserRecord

ROSTER_URN = ROSTER_USER_URN

SearchUser = ScimUser
"""The SCIM User filters and ``sortBy`` are resolved against (``contracts/scim.py``, as the gateway)."""

NOT_STORED = frozenset(name.lower() for name in rendering.NOT_STORED)
"""``contracts.rendering.NOT_STORED`` as index paths spell attributes (lower case)."""
# Rendered by the gateway from its own address; the users service cannot know it.
GATEWAY_ONLY = frozenset({"meta.location"})

INDEX_VERSION = 2
"""Bump whenever ``index_entries`` or the keys change: at start-up every user is then indexed again."""

HEAD_LENGTH = 100
"""Characters of a key held in the indexed column; PostgreSQL's btree refuses entries over ~2.7 kB."""


class Kind(Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "dateTime"
    COMPLEX = "complex"


@dataclass(frozen=True)
class Attribute:
    """One attribute or sub-attribute Roster can filter and sort on."""

    path: str  # canonical: lower case, core attributes without their URN (``emails.value``)
    name: str  # as the schema spells it, for messages (``emails.value``, ``urn:…:User:department``)
    kind: Kind
    multi_valued: bool  # this attribute, or the one it is a sub-attribute of, holds several values
    parent: str | None  # ``emails`` for ``emails.value``; None for a top-level attribute
    binding: AttributeBinding = field(compare=False, repr=False)
    sub_paths: tuple[str, ...] = ()  # a complex attribute's sub-attributes
    extension: str | None = None  # the resource field holding the extension the attribute belongs to

    @property
    def element_of_multi_valued(self) -> bool:
        """A sub-attribute of a multi-valued complex attribute: one value per element."""
        return self.parent is not None and self.multi_valued


def canonical_path(binding: AttributeBinding) -> str:
    """The index path of a resolved attribute: its URN-qualified name, the core URN left out."""
    return _short_name(binding.urn).lower()


def _short_name(urn: str) -> str:
    prefix = f"{CORE_URN}:"
    return urn[len(prefix) :] if urn.startswith(prefix) else urn


def _kind(target: Any) -> Kind:
    if isclass(target) and issubclass(target, bool):
        return Kind.BOOLEAN
    if isclass(target) and issubclass(target, datetime):
        return Kind.DATETIME
    if isclass(target) and issubclass(target, BaseModel):
        return Kind.COMPLEX
    if isclass(target) and issubclass(target, int | float | bytes):  # pragma: no cover - none supported
        raise TypeError(f"no index key for {target}")
    return Kind.STRING  # str, EmailStr, references and string enumerations


def _resolver() -> ScimFilter[Any]:
    return ScimFilter[SearchUser]("id pr")


def _catalog() -> dict[str, Attribute]:
    resolver = _resolver()
    catalog: dict[str, Attribute] = {}
    extensions = SearchUser.get_extension_models()
    models: list[tuple[str | None, type[BaseModel]]] = [
        (None, SearchUser),
        *((urn, model) for urn, model in extensions.items()),
    ]
    for urn, model in models:
        for field_name in model.model_fields:
            scim_name = model._scim_name(field_name)
            if model is SearchUser and scim_name in extensions:
                continue  # the extension objects themselves
            if scim_name.lower() in NOT_STORED or (urn is not None and scim_name == "schemas"):
                continue
            head = resolver.resolve(AttrPath(scim_name, None, urn))
            assert head is not None
            subs = _sub_attributes(resolver, model, field_name, urn, head)
            catalog.update((sub.path, sub) for sub in subs)
            catalog[canonical_path(head)] = Attribute(
                path=canonical_path(head),
                name=_short_name(head.urn),
                kind=_kind(head.target_type),
                multi_valued=head.is_multivalued,
                parent=None,
                binding=head,
                sub_paths=tuple(sub.path for sub in subs),
                extension=None if urn is None else model.__name__,
            )
    return catalog


def _sub_attributes(
    resolver: ScimFilter[Any],
    model: type[BaseModel],
    field_name: str,
    urn: str | None,
    head: AttributeBinding,
) -> list[Attribute]:
    root = model.get_field_root_type(field_name)
    if not (isclass(root) and issubclass(root, BaseModel)):
        return []
    subs: list[Attribute] = []
    for sub_name in (root._scim_name(name) for name in root.model_fields):
        binding = resolver.resolve(AttrPath(model._scim_name(field_name), sub_name, urn))
        assert binding is not None
        path = canonical_path(binding)
        if path in GATEWAY_ONLY:
            continue
        subs.append(
            Attribute(
                path=path,
                name=_short_name(binding.urn),
                kind=_kind(binding.target_type),
                multi_valued=head.is_multivalued,
                parent=canonical_path(head),
                binding=binding,
            )
        )
    return subs


CATALOG: dict[str, Attribute] = _catalog()


# Keys


def text_key(attribute: Attribute, value: str) -> str:
    """What comparisons use in place of a string (scim2-models' comparison key).

    NUL cannot be stored in PostgreSQL text; it is replaced by U+FFFD on both sides of a comparison.
    """
    key: str = attribute.binding.comparable(value)
    return key.replace("\x00", "\ufffd")


def datetime_key(moment: datetime) -> str:
    """A fixed-width UTC form whose string order is the order of the instants.

    :raises OverflowError: for an instant that has no UTC form between years 1 and 9999.
    :raises ValueError: for a time without a zone, which names no instant.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a dateTime without a time zone")
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def bool_key(value: bool) -> str:
    return "true" if value else "false"


def key_of(attribute: Attribute, value: str | bool | datetime) -> str:
    if attribute.kind is Kind.BOOLEAN:
        assert isinstance(value, bool)
        return bool_key(value)
    if attribute.kind is Kind.DATETIME:
        assert isinstance(value, datetime)
        return datetime_key(value)
    assert isinstance(value, str), attribute.path
    return text_key(attribute, value)


def head_of(key: str) -> str:
    return key[:HEAD_LENGTH]


# Index entries: the values of the rendered resource


@dataclass(frozen=True)
class Entry:
    """One indexed value. ``key`` is None for an element marker of a multi-valued complex attribute:
    the element exists, whatever sub-attributes it has. ``sort`` marks the entries of the value
    ``sortBy`` orders by: single values, and the primary (else first) element of a multi-valued one."""

    path: str
    element: int
    key: str | None
    sort: bool


TOP_LEVEL: tuple[Attribute, ...] = tuple(
    attribute for attribute in CATALOG.values() if attribute.parent is None
)


def index_entries(record: UserRecord) -> list[Entry]:
    """Every value a client sees on this user: the resource ``contracts.rendering`` renders, read through
    the catalog (``meta.location`` aside, which only the gateway can know)."""
    resource = render_user(record, base_url="")
    entries: list[Entry] = []
    for attribute in TOP_LEVEL:
        host = resource if attribute.extension is None else getattr(resource, attribute.extension)
        value = None if host is None else getattr(host, attribute.binding.field_name)
        if value is not None:
            entries.extend(_entries(attribute, value if attribute.multi_valued else [value]))
    return entries


def _entries(attribute: Attribute, elements: list[Any]) -> Iterator[Entry]:
    if attribute.kind is not Kind.COMPLEX:
        for element, value in enumerate(elements):
            yield Entry(attribute.path, element, key_of(attribute, value), element == 0)
        return
    primary = next((i for i, element in enumerate(elements) if getattr(element, "primary", None)), 0)
    for element, value in enumerate(elements):
        sort = element == primary
        if attribute.multi_valued:
            yield Entry(attribute.path, element, None, sort)
        for sub_path in attribute.sub_paths:
            sub = CATALOG[sub_path]
            sub_value = getattr(value, sub.binding.target_field_name)
            if sub_value is not None:
                yield Entry(sub_path, element, key_of(sub, sub_value), sort)


def supported(binding: AttributeBinding, written: str, *, doing: str) -> tuple[Attribute | None, str]:
    """The indexed attribute a resolved path designates, or why there is none."""
    path = canonical_path(binding)
    attribute = CATALOG.get(path)
    if attribute is not None:
        return attribute, ""
    if path in GATEWAY_ONLY:
        return None, f'{doing} "{written}" is not supported; use "id" instead.'
    if path.split(".", 1)[0] in NOT_STORED:
        return None, f'{doing} "{written}" is not supported: Roster does not store it.'
    return None, f'{doing} "{written}" is not supported.'  # pragma: no cover - every other path is
