"""SCIM filters (RFC 7644 §3.4.2.2) and ``sortBy`` (§3.4.2.3) → SQL over the search index.

Parsing and attribute resolution are scim2-models' (``ScimFilter``); this module only translates the
parsed tree into conditions on ``users`` rows, as ``IN``/``NOT EXISTS`` subqueries on
``user_attributes`` (``store.UserAttributeRow``), so the database evaluates the whole filter and a
comparison on one attribute is an index seek scoped by tenant. The semantics are those of
``ScimFilter.match`` (scim2_models/path/visitor.py), rule for rule:

* a comparison on a multi-valued attribute holds if one of its values satisfies it — except ``ne``,
  which holds if none equals the operand (a user without the attribute is "not equal");
* ``eq null`` holds when the attribute has no value (or an element lacks the sub-attribute),
  ``ne null`` when it has; every other operator is false against null or a missing value;
* ``co``/``sw``/``ew`` only ever hold between strings; ``pr`` needs a non-empty string, any boolean or
  dateTime, or (complex attributes) one present sub-attribute;
* strings compare by scim2-models' comparison key (NFC, lower-cased unless caseExact), in code point
  order; dateTimes as instants; booleans as booleans;
* ``emails eq "x"`` compares ``emails.value``; ``emails[…]`` holds if one element satisfies the
  whole inner filter.

Refused with ``invalidFilter`` (a silently empty result would make the IdP create duplicates):
syntax errors, attributes Users do not have or Roster does not store, comparisons on complex
attributes, operands of the wrong type, dateTimes without a time zone, and overly long filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from scim2_models import InvalidFilterException, SCIMException, ScimFilter, SearchRequest
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
    coerce_value,
)
from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true
from sqlalchemy.orm import aliased
from sqlmodel import col

from servicekit.scim_filters import comparison_count, refusal_reason
from services.users.attributes import (
    CATALOG,
    GATEWAY_ONLY,
    HEAD_LENGTH,
    NOT_STORED,
    Attribute,
    Kind,
    SearchUser,
    canonical_path,
    datetime_key,
    head_of,
    key_of,
)
from services.users.domain import InvalidFilter, InvalidUser
from services.users.store import SortOrder, UserAttributeRow, UserRow, value_head

MAX_COMPARISONS = 100
"""Comparisons and presence tests one filter may hold; IdPs send one or two."""

Condition = ColumnElement[bool]
Rows = type[UserAttributeRow]  # the table, or an alias of it


class _Never:
    """An operand no value of the attribute can be compared with (``userName co 5``)."""


NEVER = _Never()
Operand = str | None | _Never


def parse(text: str) -> ScimFilter[Any]:
    try:
        parsed: ScimFilter[Any] = ScimFilter[SearchUser](text)
    except (SCIMException, ValueError) as error:
        raise InvalidFilter(f"The filter {text!r} is not valid: {refusal_reason(error)}.") from error
    leaves = comparison_count(parsed.ast)
    if leaves > MAX_COMPARISONS:
        raise InvalidFilter(
            f"The filter has {leaves} comparisons; at most {MAX_COMPARISONS} are accepted in one filter."
        )
    return parsed


def to_condition(text: str, *, tenant: str) -> Condition:
    """The condition on ``users`` rows equivalent to the filter ``text`` for ``tenant``'s users."""
    parsed = parse(text)
    return _Translator(parsed, tenant).visit(parsed.ast)


# Comparisons on one key column


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _matches(rows: Rows, op: CompareOperator, operand: str) -> Condition:
    """``rows.value_key op operand``: a seek or range on the indexed head, the full key deciding.

    Equality is never written ``value_key = operand``: SQLite would propagate that constant into
    the head's expression and lose the index.
    """
    key = col(rows.value_key)
    head = value_head(key)
    operand_head = head_of(operand)
    escaped = _like_escape(operand)

    def same() -> Condition:
        if len(operand) < HEAD_LENGTH:
            return head == operand  # a head shorter than the limit is the whole key
        return and_(head == operand_head, key >= operand, key <= operand)

    def starts() -> Condition:
        after = _successor(operand_head)
        in_range = [head >= operand_head] if after is None else [head >= operand_head, head < after]
        return and_(*in_range, key.like(f"{escaped}%", escape="\\"))

    compare: dict[CompareOperator, Callable[[], Condition]] = {
        CompareOperator.eq: same,
        CompareOperator.gt: lambda: and_(head >= operand_head, key > operand),
        CompareOperator.ge: lambda: and_(head >= operand_head, key >= operand),
        CompareOperator.lt: lambda: and_(head <= operand_head, key < operand),
        CompareOperator.le: lambda: and_(head <= operand_head, key <= operand),
        CompareOperator.sw: starts,
        CompareOperator.ew: lambda: key.like(f"%{escaped}", escape="\\"),
        CompareOperator.co: lambda: key.like(f"%{escaped}%", escape="\\"),
    }
    return compare[op]()


def _successor(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (code point order)."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if last == 0xD800:
            last = 0xE000  # surrogates are not text
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _present(rows: Rows) -> Condition:
    # Only a string can be empty; booleans and dateTimes are always present (scim2 ``_is_present``).
    return col(rows.value_key) != ""


@dataclass(frozen=True)
class _Element:
    """One element of a multi-valued complex attribute, as a value filter sees it."""

    rows: Rows  # the row the element was reached through (marker or sub-attribute)
    attribute: Attribute  # the multi-valued attribute


class _Translator:
    def __init__(self, parsed: ScimFilter[Any], tenant: str) -> None:
        self.parsed = parsed
        self.tenant = tenant

    # Resolution

    def _attribute(self, path: AttrPath, *, for_comparison: bool, written: str | None = None) -> Attribute:
        written = written or str(path)
        try:
            binding = (
                self.parsed.resolve_comparison(path, strict=True)
                if for_comparison
                else self.parsed.resolve(path, strict=True)
            )
        except SCIMException:
            raise InvalidFilter(
                f'The filter names "{written}", which is not an attribute of Users.'
            ) from None
        assert binding is not None
        attribute, refusal = supported(binding, written, doing="Filtering on")
        if attribute is None:
            raise InvalidFilter(refusal)
        return attribute

    def _operand(self, attribute: Attribute, op: CompareOperator, value: Any) -> Operand:
        """The filter value in the form the index keeps (``ScimFilter.match``'s coercion and key)."""
        if value is None:
            return None
        try:
            coerced = coerce_value(attribute.binding, value, op)
        except InvalidFilterException as error:  # already refused when parsed; kept for safety
            raise InvalidFilter(f"The filter is not valid: {refusal_reason(error)}.") from None
        if attribute.kind is Kind.STRING:
            if not isinstance(coerced, str):
                return NEVER
            try:
                coerced.encode()
            except UnicodeEncodeError:
                raise InvalidFilter(
                    f"The filter value for {attribute.name} is not valid Unicode text."
                ) from None
            return key_of(attribute, coerced)
        if op in STRING_OPERATORS or not isinstance(coerced, bool | datetime):
            return NEVER  # a boolean or dateTime is never a string, and never contains one
        if isinstance(coerced, datetime):
            return self._instant(attribute, coerced)
        return key_of(attribute, coerced)

    @staticmethod
    def _plain_operand(attribute: Attribute, value: Any) -> Operand:
        if value is None or not isinstance(value, str):
            return None if value is None else NEVER
        try:
            value.encode()
        except UnicodeEncodeError:
            raise InvalidFilter(f"The filter value for {attribute.name} is not valid Unicode text.") from None
        return key_of(attribute, value)

    @staticmethod
    def _instant(attribute: Attribute, moment: datetime) -> str:
        try:
            return datetime_key(moment)
        except ValueError:
            raise InvalidFilter(
                f"The value for {attribute.name} needs a time zone, e.g. 2026-01-01T00:00:00Z."
            ) from None
        except OverflowError:
            raise InvalidFilter(f"The value for {attribute.name} is out of range.") from None

    # Subqueries

    def _users_with(self, path: str | tuple[str, ...], condition: Callable[[Rows], Condition]) -> Condition:
        """Users holding a row of ``path`` that satisfies ``condition``: an index seek."""
        rows = aliased(UserAttributeRow)
        paths = (path,) if isinstance(path, str) else path
        on_path = col(rows.path) == paths[0] if len(paths) == 1 else col(rows.path).in_(paths)
        query = select(col(rows.user_seq)).where(col(rows.tenant) == self.tenant, on_path, condition(rows))
        return col(UserRow.seq).in_(query)

    @staticmethod
    def _user_has(path: str, condition: Callable[[Rows], Condition]) -> Condition:
        """Correlated to the user row: for the negative forms, checked user by user."""
        rows = aliased(UserAttributeRow)
        return exists().where(col(rows.user_seq) == col(UserRow.seq), col(rows.path) == path, condition(rows))

    @staticmethod
    def _element_has(element: _Element, path: str, condition: Callable[[Rows], Condition]) -> Condition:
        if path == element.attribute.path:  # a simple multi-valued attribute: the element is the row
            return condition(element.rows)
        rows = aliased(UserAttributeRow)
        return exists().where(
            col(rows.user_seq) == col(element.rows.user_seq),
            col(rows.path) == path,
            col(rows.element) == col(element.rows.element),
            condition(rows),
        )

    # The tree

    def visit(self, node: FilterNode) -> Condition:
        if isinstance(node, LogicalExpr):
            terms = [self.visit(term) for term in node.terms]
            return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
        if isinstance(node, Not):
            return not_(self.visit(node.expr))
        if isinstance(node, Present):
            return self._present_attribute(self._attribute(node.attr_path, for_comparison=False))
        if isinstance(node, Comparison):
            return self._comparison(node)
        if isinstance(node, ValuePath):
            return self._value_path(node)
        raise InvalidFilter(f"Filtering on {node} is not supported.")  # pragma: no cover

    def _present_attribute(self, attribute: Attribute) -> Condition:
        paths = attribute.sub_paths if attribute.kind is Kind.COMPLEX else attribute.path
        return self._users_with(paths, _present)

    def _comparison(self, node: Comparison) -> Condition:
        attribute = self._attribute(node.attr_path, for_comparison=True)
        if attribute.kind is Kind.COMPLEX:
            example = attribute.sub_paths[0] if attribute.sub_paths else "a sub-attribute"
            raise InvalidFilter(
                f'"{node.attr_path}" is a complex attribute: compare one of its sub-attributes'
                f" (e.g. {CATALOG[example].name}), or test it with pr."
            )
        operand = self._operand(attribute, node.op, node.value)
        if isinstance(operand, _Never):
            return true() if node.op == CompareOperator.ne else false()
        if operand is None:
            if node.op == CompareOperator.eq:
                return self._without_value(attribute)
            if node.op == CompareOperator.ne:
                return not_(self._without_value(attribute))
            return false()
        if node.op == CompareOperator.ne:
            # "No value equals": true for a user without the attribute, and for a multi-valued one
            # when none of its values equals (scim2's universal reading of ne).
            return not_(self._user_has(attribute.path, _bind_matches(CompareOperator.eq, operand)))
        return self._users_with(attribute.path, _bind_matches(node.op, operand))

    def _without_value(self, attribute: Attribute) -> Condition:
        """``attribute eq null``: no value at all, or (multi-valued complex) an element lacking it."""
        no_value = not_(self._user_has(attribute.path, lambda rows: true()))
        if not attribute.element_of_multi_valued:
            return no_value
        assert attribute.parent is not None
        parent = CATALOG[attribute.parent]
        no_element = not_(self._user_has(parent.path, lambda rows: true()))

        def lacking(rows: Rows) -> Condition:
            return not_(self._element_has(_Element(rows, parent), attribute.path, lambda sub: true()))

        return or_(no_element, self._users_with(parent.path, lacking))

    # Value filters: emails[type eq "work" and value co "@example.com"]

    def _value_path(self, node: ValuePath) -> Condition:
        attribute = self._attribute(node.attr_path, for_comparison=False)
        if not attribute.multi_valued or attribute.parent is not None:  # pragma: no cover - scim2 refuses
            raise InvalidFilter(f'"{node.attr_path}" is not multi-valued: it has no values to select.')
        if attribute.kind is not Kind.COMPLEX:
            return self._users_with(
                attribute.path, lambda rows: self._inner(node.val_filter, _Element(rows, attribute))
            )
        terms = _conjuncts(node.val_filter)
        driver = self._driver(attribute, terms)
        if driver is None:
            return self._users_with(
                attribute.path, lambda rows: self._inner(node.val_filter, _Element(rows, attribute))
            )
        # Reach the elements through the most selective positive term: an index seek on its value.
        index, sub, condition = driver
        rest = [term for position, term in enumerate(terms) if position != index]

        def element_condition(rows: Rows) -> Condition:
            element = _Element(rows, attribute)
            return and_(condition(rows), *(self._inner(term, element) for term in rest))

        return self._users_with(sub.path, element_condition)

    def _driver(
        self, attribute: Attribute, terms: list[FilterNode]
    ) -> tuple[int, Attribute, Callable[[Rows], Condition]] | None:
        """The term of a conjunction that needs a sub-attribute value, and how it matches one."""
        best: tuple[tuple[int, int], int, Attribute, Callable[[Rows], Condition]] | None = None
        for position, term in enumerate(terms):
            if isinstance(term, Present):
                sub = self._sub_attribute(attribute, term.attr_path)
                rank = (3, 0)
                condition: Callable[[Rows], Condition] = _present
            elif isinstance(term, Comparison) and term.op != CompareOperator.ne:
                sub = self._sub_attribute(attribute, term.attr_path)
                operand = self._operand(sub, term.op, term.value)
                if not isinstance(operand, str):
                    continue
                rank = (0 if term.op == CompareOperator.eq else 1 if term.op == CompareOperator.sw else 2, 0)
                # Prefer the value over the low-cardinality type and primary sub-attributes.
                rank = (rank[0], 0 if sub.path.endswith(".value") else 1 if sub.kind is Kind.STRING else 2)
                condition = _bind_matches(term.op, operand)
            else:
                continue
            if best is None or rank < best[0]:
                best = (rank, position, sub, condition)
        return None if best is None else best[1:]

    def _sub_attribute(self, attribute: Attribute, path: AttrPath) -> Attribute:
        if path.uri is not None or path.sub_attr is not None:
            raise InvalidFilter(
                f'"{path}" cannot appear inside {attribute.name}[…]: name a sub-attribute of'
                f' {attribute.name}, e.g. {attribute.name}[value eq "x"].'
            )
        if attribute.kind is not Kind.COMPLEX:
            if path.attr.lower() != "value":
                raise InvalidFilter(
                    f"{attribute.name} holds plain values: inside {attribute.name}[…]"
                    ' only "value" names them.'
                )
            return attribute
        head = attribute.binding
        combined = AttrPath(head.model._scim_name(head.field_name), path.attr, _uri_of(attribute))
        return self._attribute(combined, for_comparison=False, written=f"{attribute.name}.{path.attr}")

    def _inner(self, node: FilterNode, element: _Element) -> Condition:
        if isinstance(node, LogicalExpr):
            terms = [self._inner(term, element) for term in node.terms]
            return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)
        if isinstance(node, Not):
            return not_(self._inner(node.expr, element))
        if isinstance(node, Present):
            sub = self._sub_attribute(element.attribute, node.attr_path)
            return self._element_has(element, sub.path, _present)
        if isinstance(node, Comparison):
            sub = self._sub_attribute(element.attribute, node.attr_path)
            if sub.kind is Kind.COMPLEX:  # pragma: no cover - SCIM has no nested complex attributes
                raise InvalidFilter(f'"{node.attr_path}" is complex and cannot be compared.')
            if element.attribute.kind is Kind.COMPLEX:
                operand = self._operand(sub, node.op, node.value)
            else:  # a plain value compared as it stands, uncoerced (scim2's ``_ScalarEvaluator``)
                operand = self._plain_operand(sub, node.value)
            if isinstance(operand, _Never):
                return true() if node.op == CompareOperator.ne else false()
            if operand is None:
                present = self._element_has(element, sub.path, lambda rows: true())
                if node.op == CompareOperator.eq:
                    return not_(present)
                return present if node.op == CompareOperator.ne else false()
            if node.op == CompareOperator.ne:
                return not_(self._element_has(element, sub.path, _bind_matches(CompareOperator.eq, operand)))
            return self._element_has(element, sub.path, _bind_matches(node.op, operand))
        raise InvalidFilter(f"A value filter cannot hold another one: {node}.")


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


def _bind_matches(op: CompareOperator, operand: str) -> Callable[[Rows], Condition]:
    return lambda rows: _matches(rows, op, operand)


def _conjuncts(node: FilterNode) -> list[FilterNode]:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        return [leaf for term in node.terms for leaf in _conjuncts(term)]
    return [node]


def _uri_of(attribute: Attribute) -> str | None:
    schema = getattr(attribute.binding.model, "__schema__", None)
    return str(schema) if schema else None


# sortBy


def sort_order(sort_by: str, *, descending: bool) -> SortOrder:
    """RFC 7644 §3.4.2.3, resolved as scim2-models' ``SearchRequest.sort`` resolves it: a multi-valued
    attribute sorts by its primary (else first) element, ``emails`` by ``emails.value``."""
    try:
        request = SearchRequest[SearchUser](sort_by=sort_by)
    except (ValidationError, SCIMException) as error:
        raise InvalidUser(f"sortBy {sort_by!r} cannot be used: {refusal_reason(error)}.") from None
    binding = request.sort_binding(SearchUser)
    if binding is None:  # pragma: no cover - the request validated it
        raise InvalidUser(f"sortBy {sort_by!r} names no attribute Users can be sorted on.")
    attribute, refusal = supported(binding, sort_by, doing="Sorting by")
    if attribute is None:
        raise InvalidUser(refusal)
    return SortOrder(path=attribute.path, descending=descending)
