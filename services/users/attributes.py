"""A user as SCIM filters and ``sortBy`` see it: the attributes clients read, and their index entries.

The gateway renders a ``UserRecord`` as a SCIM User (``services/gateway/translate.py::scim_user``).
The search index must hold exactly the values a client reads back, so ``index_entries`` mirrors that
rendering attribute by attribute (the property tests check it against the real rendering).

Every value is indexed as one *key*: the string comparisons use in its place, computed by
scim2-models' own ``AttributeBinding.comparable`` (NFC, lower-cased unless the attribute is
caseExact), so the database compares exactly as ``ScimFilter.match`` does. Booleans and dateTimes get
keys whose string order is their order (``false`` < ``true``; UTC ``YYYY-MM-DDTHH:MM:SS.ffffff``), so
one indexed column serves every attribute: a path has a single type and is only ever compared with
values of that type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from inspect import isclass
from typing import Any

from scim2_models import BaseModel
from scim2_models.path import AttributeBinding, AttrPath, ScimFilter

from contracts.scim import ENTERPRISE_URN, ROSTER_USER_URN, ScimUser
from contracts.users import ContactValue, EnterpriseInfo, PostalAddress, UserRecord

CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ROSTER_URN = ROSTER_USER_URN

SearchUser = ScimUser
"""The SCIM User filters and ``sortBy`` are resolved against (``contracts/scim.py``, as the gateway)."""

# Core attributes no Roster contract carries (the gateway drops them on the way in and leaves them out
# of its published schema). Filtering or sorting on them is refused rather than answered as "absent".
NOT_STORED = frozenset({"password", "ims", "photos", "groups", "entitlements", "x509certificates"})
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
            root = model.get_field_root_type(field_name)
            sub_attributes = (
                [root._scim_name(name) for name in root.model_fields]
                if isclass(root) and issubclass(root, BaseModel)
                else []
            )
            head_path = canonical_path(head)
            subs: list[str] = []
            for sub_name in sub_attributes:
                binding = resolver.resolve(AttrPath(scim_name, sub_name, urn))
                assert binding is not None
                path = canonical_path(binding)
                if path in GATEWAY_ONLY:
                    continue
                subs.append(path)
                catalog[path] = Attribute(
                    path=path,
                    name=_short_name(binding.urn),
                    kind=_kind(binding.target_type),
                    multi_valued=head.is_multivalued,
                    parent=head_path,
                    binding=binding,
                )
            catalog[head_path] = Attribute(
                path=head_path,
                name=_short_name(head.urn),
                kind=_kind(head.target_type),
                multi_valued=head.is_multivalued,
                parent=None,
                binding=head,
                sub_paths=tuple(subs),
            )
    return catalog


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


# Index entries: the mirror of the gateway's rendering


@dataclass(frozen=True)
class Entry:
    """One indexed value. ``key`` is None for an element marker of a multi-valued complex attribute:
    the element exists, whatever sub-attributes it has. ``sort`` marks the entries of the value
    ``sortBy`` orders by: single values, and the primary (else first) element of a multi-valued one."""

    path: str
    element: int
    key: str | None
    sort: bool


Scalar = str | bool | datetime | None


class _Entries:
    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def single(self, path: str, value: Scalar) -> None:
        if value is not None:
            self.entries.append(Entry(path, 0, key_of(CATALOG[path], value), True))

    def complex_single(self, path: str, values: dict[str, Scalar]) -> None:
        for sub, value in values.items():
            self.single(f"{path}.{sub.lower()}", value)

    def multi_simple(self, path: str, values: list[str]) -> None:
        for element, value in enumerate(values):
            self.entries.append(Entry(path, element, key_of(CATALOG[path], value), element == 0))

    def multi_complex(self, path: str, elements: list[dict[str, Scalar]]) -> None:
        primary = next((i for i, element in enumerate(elements) if element.get("primary")), 0)
        for element, values in enumerate(elements):
            sort = element == primary
            self.entries.append(Entry(path, element, None, sort))
            for sub, value in values.items():
                if value is not None:
                    sub_path = f"{path}.{sub.lower()}"
                    self.entries.append(Entry(sub_path, element, key_of(CATALOG[sub_path], value), sort))


def _contact(item: ContactValue) -> dict[str, Scalar]:
    return {"value": item.value, "display": item.display, "type": item.type, "primary": item.primary}


def _address(item: PostalAddress) -> dict[str, Scalar]:
    return {
        "formatted": item.formatted,
        "streetAddress": item.street_address,
        "locality": item.locality,
        "region": item.region,
        "postalCode": item.postal_code,
        "country": item.country,
        "type": item.type,
        "primary": item.primary,
    }


def version_tag(version: int) -> str:
    """``meta.version`` as the gateway renders it (``services/gateway/etags.py``)."""
    return f'W/"{version}"'


def _manager_rendered(info: EnterpriseInfo) -> bool:
    """The gateway renders a manager only when one of its sub-attributes is set (then as sent)."""
    return bool(info.manager_ref or info.manager_uri or info.manager_display)


def _enterprise_rendered(info: EnterpriseInfo | None) -> bool:
    """An extension with no attribute set is left out of the resource, its URN out of ``schemas``."""
    if info is None:
        return False
    simple = (info.employee_number, info.cost_center, info.organization, info.division, info.department)
    return any(value is not None for value in simple) or _manager_rendered(info)


def index_entries(record: UserRecord) -> list[Entry]:
    """Every value a client sees on this user, as ``scim_user`` renders it."""
    profile = record.profile
    out = _Entries()
    out.multi_simple(
        "schemas",
        [
            CORE_URN,
            *([ENTERPRISE_URN] if _enterprise_rendered(profile.enterprise) else []),
            *([ROSTER_URN] if profile.roster_role is not None else []),
        ],
    )
    out.single("id", record.id)
    out.single("externalid", profile.external_id)
    out.single("username", profile.user_name)
    out.single("displayname", profile.display_name)
    out.single("nickname", profile.nick_name)
    out.single("profileurl", profile.profile_url)
    out.single("title", profile.title)
    out.single("usertype", profile.user_type)
    out.single("preferredlanguage", profile.preferred_language)
    out.single("locale", profile.locale)
    out.single("timezone", profile.timezone)
    out.single("active", profile.active)
    if profile.name is not None:
        name = profile.name
        out.complex_single(
            "name",
            {
                "formatted": name.formatted,
                "familyName": name.family_name,
                "givenName": name.given_name,
                "middleName": name.middle_name,
                "honorificPrefix": name.honorific_prefix,
                "honorificSuffix": name.honorific_suffix,
            },
        )
    out.multi_complex("emails", [_contact(item) for item in profile.emails])
    out.multi_complex("phonenumbers", [_contact(item) for item in profile.phone_numbers])
    out.multi_complex("addresses", [_address(item) for item in profile.addresses])
    out.multi_complex("roles", [_contact(item) for item in profile.roles])
    out.complex_single(
        "meta",
        {
            "resourceType": "User",
            "created": record.created,
            "lastModified": record.last_modified,
            "version": version_tag(record.version),
        },
    )
    enterprise = profile.enterprise
    if enterprise is not None:
        prefix = ENTERPRISE_URN.lower()
        out.single(f"{prefix}:employeenumber", enterprise.employee_number)
        out.single(f"{prefix}:costcenter", enterprise.cost_center)
        out.single(f"{prefix}:organization", enterprise.organization)
        out.single(f"{prefix}:division", enterprise.division)
        out.single(f"{prefix}:department", enterprise.department)
        if _manager_rendered(enterprise):
            out.single(f"{prefix}:manager.value", enterprise.manager_ref)
            out.single(f"{prefix}:manager.$ref", enterprise.manager_uri)
            out.single(f"{prefix}:manager.displayname", enterprise.manager_display)
    if profile.roster_role is not None:
        out.single(f"{ROSTER_URN.lower()}:role", profile.roster_role.value)
    return out.entries
