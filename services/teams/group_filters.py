"""SCIM filters (RFC 7644 §3.4.2.2) and ``sortBy`` (§3.4.2.3) on Groups.

Parsing, attribute resolution and evaluation are scim2-models': a filter is parsed, each attribute it
names resolved strictly against ``Group`` (an unknown one named in the refusal, as Users name theirs),
and evaluated by ``ScimFilter.match`` on ``Group``
objects built from the team rows, so its semantics are exactly scim2-models' (``displayName`` is
caseExact false, ``id``, ``externalId`` and ``members.value`` are caseExact true).

Groups are few per tenant, but IdPs ask by name and id all the time: a top-level equality on
``id``, ``externalId`` or ``displayName`` (alone or inside an ``and``) is first turned into an index
seek (``Narrowing``), so Okta's ``displayName eq "X"`` and Entra's
``id eq "g" and members[value eq "u"]`` never look at the rest of the tenant. Members are read only
when the filter names them, and only for those candidates.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from inspect import isclass
from typing import Any, TypeGuard

from pydantic import BaseModel, ValidationError
from scim2_models import Group, GroupMember, Meta, SCIMException, ScimFilter, SearchRequest
from scim2_models.path import (
    STRING_OPERATORS,
    AttributeBinding,
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from contracts.teams import TeamMember
from servicekit.clock import as_utc
from servicekit.scim_filters import beyond_bounds, datetime_refusal, is_datetime_operand, refusal_reason
from services.teams.domain import InvalidFilter, InvalidTeam, name_key
from services.teams.listing_store import GroupOrder, Narrowing, SortColumn
from services.teams.store import TeamRow

_SCHEMAS = list(Group().schemas)
_UNSUPPORTED: dict[tuple[str, str | None], str] = {
    ("meta", "location"): 'Filtering on "meta.location" is not supported; use "id" instead.',
    ("meta", "version"): 'Filtering on "meta.version" is not supported; use "id" instead.',
    ("members", "ref"): 'Filtering on "members.$ref" is not supported; use "members.value" instead.',
}
_NARROWING_PREFERENCE = {"id": 0, "external_id": 1, "display_name": 2}
_SORT_COLUMNS = {
    ("display_name", None): SortColumn.DISPLAY_NAME,
    ("external_id", None): SortColumn.EXTERNAL_ID,
    ("id", None): SortColumn.ID,
    ("meta", "created"): SortColumn.CREATED,
    ("meta", "last_modified"): SortColumn.LAST_MODIFIED,
}


@dataclass(frozen=True)
class GroupFilter:
    parsed: ScimFilter[Any]
    narrowing: Narrowing | None
    names_members: bool
    # When all the filter asks of members is ``value eq "<id>"`` (Entra's membership check): those ids.
    member_ids: frozenset[str] | None = None

    def matches(self, row: TeamRow, members: Sequence[TeamMember] | None) -> bool:
        return self.parsed.match(_group(row, members))


def parse(text: str) -> GroupFilter:
    try:
        parsed: ScimFilter[Any] = ScimFilter[Group](text)
    except (SCIMException, ValueError) as error:
        raise InvalidFilter(f"The filter {text!r} is not valid: {refusal_reason(error)}.") from None
    if (refusal := beyond_bounds(parsed.ast)) is not None:
        raise InvalidFilter(refusal)
    bindings = []
    for path, node in _paths(parsed, parsed.ast):
        binding = _binding(parsed, path, isinstance(node, Comparison))
        refusal = _UNSUPPORTED.get((binding.field_name, binding.sub_field_name))
        if refusal:
            raise InvalidFilter(refusal)
        if _compares_instants(node, binding) and not is_datetime_operand(node.value):
            raise InvalidFilter(datetime_refusal(binding.urn.rpartition(":")[2]))  # as Users name it
        bindings.append(binding)
    names_members = any(binding.field_name == "members" for binding in bindings)
    return GroupFilter(
        parsed=parsed,
        narrowing=_narrowing(parsed),
        names_members=names_members,
        member_ids=_member_ids(parsed.ast) if names_members else None,
    )


def _member_ids(node: FilterNode, *, inside_members: bool = False) -> frozenset[str] | None:
    """The user ids the filter compares members with, when ``value eq "<id>"`` is all it asks of
    them: the members among those ids then decide every comparison exactly as the whole list would,
    so Entra's ``id eq "g" and members[value eq "u"]`` reads one membership row, not 10,000.
    None when the filter asks anything else of members (``pr``, another operator or sub-attribute)."""
    if isinstance(node, LogicalExpr):
        found: frozenset[str] = frozenset()
        for term in node.terms:
            ids = _member_ids(term, inside_members=inside_members)
            if ids is None:
                return None
            found |= ids
        return found
    if isinstance(node, Not):
        # Inside ``members[…]`` a negation holds for members outside the ids (``members[not (value eq
        # "u")]``): all members are needed. Around a whole ``members[…]`` it negates an exact answer.
        return None if inside_members else _member_ids(node.expr)
    if isinstance(node, ValuePath):
        on_members = node.attr_path.attr.lower() == "members"
        return _member_ids(node.val_filter, inside_members=True) if on_members else frozenset()
    if not isinstance(node, Comparison | Present):
        return None
    path = node.attr_path
    if not inside_members and path.attr.lower() != "members":
        return frozenset()  # not about members at all
    compared = path.attr if inside_members else (path.sub_attr or "value")
    if isinstance(node, Comparison) and compared.lower() == "value" and node.op == CompareOperator.eq:
        return frozenset({node.value}) if isinstance(node.value, str) else None
    return None


def sort_order(sort_by: str, *, descending: bool) -> GroupOrder:
    """RFC 7644 §3.4.2.3, resolved as scim2-models' ``SearchRequest`` resolves ``sortBy``."""
    try:
        binding = SearchRequest[Group](sort_by=sort_by).sort_binding(Group)
    except (ValidationError, SCIMException, ValueError) as error:
        raise InvalidTeam(f"sortBy {sort_by!r} cannot be used: {refusal_reason(error)}.") from None
    column = None if binding is None else _SORT_COLUMNS.get((binding.field_name, binding.sub_field_name))
    if column is None:
        raise InvalidTeam(
            f"Sorting groups by {sort_by!r} is not supported; sort by displayName, externalId, id,"
            " meta.created or meta.lastModified."
        )
    return GroupOrder(column=column, descending=descending)


def _compares_instants(node: FilterNode, binding: AttributeBinding) -> TypeGuard[Comparison]:
    """A dateTime compared as one (``co``, ``sw`` and ``ew`` match text, and ``null`` is presence)."""
    return (
        isinstance(node, Comparison)
        and node.value is not None
        and node.op not in STRING_OPERATORS
        and binding.target_type is datetime
    )


def _paths(
    parsed: ScimFilter[Any], node: FilterNode, within: AttrPath | None = None
) -> Iterator[tuple[AttrPath, FilterNode]]:
    """Every attribute path the filter names (inside ``members[…]`` as ``members.<sub>``), with the
    node naming it: a comparison on ``members`` compares ``members.value``."""
    if isinstance(node, LogicalExpr):
        for term in node.terms:
            yield from _paths(parsed, term, within)
    elif isinstance(node, Not):
        yield from _paths(parsed, node.expr, within)
    elif isinstance(node, ValuePath):
        yield node.attr_path, node
        item = _binding(parsed, node.attr_path, False).field_type
        if isclass(item) and issubclass(item, BaseModel):  # ``schemas[value eq …]`` names its elements
            yield from _paths(parsed, node.val_filter, node.attr_path)
    elif isinstance(node, Comparison | Present):
        path = node.attr_path
        if within is not None:
            path = AttrPath(attr=within.attr, sub_attr=path.attr, uri=within.uri)
        yield path, node


def _binding(parsed: ScimFilter[Any], path: AttrPath, comparison: bool) -> AttributeBinding:
    try:
        binding = parsed.resolve_comparison(path) if comparison else parsed.resolve(path)
    except SCIMException:
        raise InvalidFilter(f'The filter names "{path}", which is not an attribute of Groups.') from None
    assert binding is not None  # bound to Group
    return binding


def _conjuncts(node: FilterNode) -> list[FilterNode]:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        return [leaf for term in node.terms for leaf in _conjuncts(term)]
    return [node]


def _narrowing(parsed: ScimFilter[Any]) -> Narrowing | None:
    """The most selective top-level ``eq`` on id, externalId or displayName, as column values."""
    best: tuple[int, Narrowing] | None = None
    for term in _conjuncts(parsed.ast):
        if not isinstance(term, Comparison) or term.op != CompareOperator.eq:
            continue
        if not isinstance(term.value, str) or not _storable(term.value):
            continue  # left to the matcher: no stored value can equal it
        binding = _binding(parsed, term.attr_path, True)
        rank = _NARROWING_PREFERENCE.get(binding.field_name)
        if rank is None or binding.sub_field_name is not None:
            continue
        if best is None or rank < best[0]:
            best = (rank, _column_values(binding.field_name, term.value))
    return None if best is None else best[1]


def _column_values(field_name: str, value: str) -> Narrowing:
    if field_name == "display_name":
        return Narrowing(column="name_key", values=(name_key(value),))
    # caseExact: scim2-models still compares NFC forms, and ids are stored as given.
    values = tuple(dict.fromkeys((value, unicodedata.normalize("NFC", value))))
    return Narrowing(column="id" if field_name == "id" else "external_id", values=values)


def _storable(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _group(row: TeamRow, members: Sequence[TeamMember] | None) -> Group:
    """The team as the SCIM Group the filter is evaluated on (built unvalidated: it is our data)."""
    scim_members = None
    if members is not None:
        scim_members = [
            GroupMember.model_construct(value=member.user_id, display=member.display, type="User")
            for member in members
        ]
    meta = Meta.model_construct(
        resource_type="Group", created=as_utc(row.created), last_modified=as_utc(row.last_modified)
    )
    return Group.model_construct(
        schemas=_SCHEMAS,
        id=row.id,
        external_id=row.external_id,
        display_name=row.display_name,
        members=scim_members,
        meta=meta,
    )
