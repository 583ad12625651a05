"""SCIM filters (RFC 7644 §3.4.2.2) → SQL over the search index (``sortBy``: ``sorting.py``).

Parsing and attribute resolution are scim2-models' (``ScimFilter``); this module only translates the
parsed tree into conditions on ``users`` rows, as ``IN``/``NOT EXISTS`` subqueries on
``user_attributes`` (``search_index.UserAttributeRow``), so the database evaluates the whole filter and a
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
from typing import Any

from scim2_models import SCIMException, ScimFilter
from scim2_models.path import (
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
from sqlalchemy import and_, exists, false, not_, or_, select, true
from sqlmodel import col

from contracts.scim import user_extension_owning
from servicekit.scim_filters import beyond_bounds, refusal_reason
from services.users.attributes import CATALOG, Attribute, Kind, SearchUser, supported
from services.users.domain import InvalidFilter
from services.users.key_conditions import Condition, Rows, bind_matches, has_value, nth_alias
from services.users.operands import Never, coerced_operand, plain_operand
from services.users.store import UserRow


def parse(text: str) -> ScimFilter[Any]:
    try:
        parsed: ScimFilter[Any] = ScimFilter[SearchUser](text)
    except (SCIMException, ValueError) as error:
        raise InvalidFilter(f"The filter {text!r} is not valid: {refusal_reason(error)}.") from error
    if (refusal := beyond_bounds(parsed.ast)) is not None:
        raise InvalidFilter(refusal)
    return parsed


def to_condition(parsed: ScimFilter[Any], *, tenant: str) -> Condition:
    """The condition on ``users`` rows equivalent to the ``parsed`` filter for ``tenant``'s users."""
    return _Translator(parsed, tenant).visit(parsed.ast)


@dataclass(frozen=True)
class _Element:
    """One element of a multi-valued complex attribute, as a value filter sees it."""

    rows: Rows  # the row the element was reached through (marker or sub-attribute)
    attribute: Attribute  # the multi-valued attribute


class _Translator:
    def __init__(self, parsed: ScimFilter[Any], tenant: str) -> None:
        self.parsed = parsed
        self.tenant = tenant
        self._aliases_taken = 0

    def _rows(self) -> Rows:
        """An alias of the search index no other subquery of this statement uses."""
        self._aliases_taken += 1
        return nth_alias(self._aliases_taken - 1)

    # Resolution

    def _attribute(self, path: AttrPath, *, for_comparison: bool, written: str | None = None) -> Attribute:
        written = written or str(path)
        extension = user_extension_owning(path.attr) if path.uri is None else None  # RFC 7644 §3.10
        if extension is not None:
            path = AttrPath(path.attr, path.sub_attr, extension)
        binding = self._binding(path, for_comparison)
        if binding is None:
            raise InvalidFilter(f'The filter names "{written}", which is not an attribute of Users.')
        attribute, refusal = supported(binding, written, doing="Filtering on")
        if attribute is None:
            raise InvalidFilter(refusal)
        return attribute

    def _binding(self, path: AttrPath, for_comparison: bool) -> AttributeBinding | None:
        try:
            if for_comparison:
                return self.parsed.resolve_comparison(path, strict=True)
            return self.parsed.resolve(path, strict=True)
        except SCIMException:
            return None

    # Subqueries

    def _users_with(self, path: str | tuple[str, ...], condition: Callable[[Rows], Condition]) -> Condition:
        """Users holding a row of ``path`` that satisfies ``condition``: an index seek."""
        rows = self._rows()
        paths = (path,) if isinstance(path, str) else path
        on_path = col(rows.path) == paths[0] if len(paths) == 1 else col(rows.path).in_(paths)
        query = select(col(rows.user_seq)).where(col(rows.tenant) == self.tenant, on_path, condition(rows))
        return col(UserRow.seq).in_(query)

    def _user_has(self, path: str, condition: Callable[[Rows], Condition]) -> Condition:
        """Correlated to the user row: for the negative forms, checked user by user."""
        rows = self._rows()
        return exists().where(col(rows.user_seq) == col(UserRow.seq), col(rows.path) == path, condition(rows))

    def _element_has(self, element: _Element, path: str, condition: Callable[[Rows], Condition]) -> Condition:
        if path == element.attribute.path:  # a simple multi-valued attribute: the element is the row
            return condition(element.rows)
        rows = self._rows()
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
        return self._users_with(paths, has_value)

    def _comparison(self, node: Comparison) -> Condition:
        attribute = self._attribute(node.attr_path, for_comparison=True)
        if attribute.kind is Kind.COMPLEX:
            example = attribute.sub_paths[0] if attribute.sub_paths else "a sub-attribute"
            raise InvalidFilter(
                f'"{node.attr_path}" is a complex attribute: compare one of its sub-attributes'
                f" (e.g. {CATALOG[example].name}), or test it with pr."
            )
        operand = coerced_operand(attribute, node.op, node.value)
        if isinstance(operand, Never):
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
            return not_(self._user_has(attribute.path, bind_matches(CompareOperator.eq, operand)))
        return self._users_with(attribute.path, bind_matches(node.op, operand))

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
                condition: Callable[[Rows], Condition] = has_value
            elif isinstance(term, Comparison) and term.op != CompareOperator.ne:
                sub = self._sub_attribute(attribute, term.attr_path)
                operand = coerced_operand(sub, term.op, term.value)
                if not isinstance(operand, str):
                    continue
                rank = (0 if term.op == CompareOperator.eq else 1 if term.op == CompareOperator.sw else 2, 0)
                # Prefer the value over the low-cardinality type and primary sub-attributes.
                rank = (rank[0], 0 if sub.path.endswith(".value") else 1 if sub.kind is Kind.STRING else 2)
                condition = bind_matches(term.op, operand)
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
            return self._element_has(element, sub.path, has_value)
        if isinstance(node, Comparison):
            sub = self._sub_attribute(element.attribute, node.attr_path)
            if sub.kind is Kind.COMPLEX:  # pragma: no cover - SCIM has no nested complex attributes
                raise InvalidFilter(f'"{node.attr_path}" is complex and cannot be compared.')
            if element.attribute.kind is Kind.COMPLEX:
                operand = coerced_operand(sub, node.op, node.value)
            else:  # a plain value compared as it stands, uncoerced (scim2's ``_ScalarEvaluator``)
                operand = plain_operand(sub, node.value)
            if isinstance(operand, Never):
                return true() if node.op == CompareOperator.ne else false()
            if operand is None:
                present = self._element_has(element, sub.path, lambda rows: true())
                if node.op == CompareOperator.eq:
                    return not_(present)
                return present if node.op == CompareOperator.ne else false()
            if node.op == CompareOperator.ne:
                return not_(self._element_has(element, sub.path, bind_matches(CompareOperator.eq, operand)))
            return self._element_has(element, sub.path, bind_matches(node.op, operand))
        raise InvalidFilter(f"A value filter cannot hold another one: {node}.")


def _conjuncts(node: FilterNode) -> list[FilterNode]:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        return [leaf for term in node.terms for leaf in _conjuncts(term)]
    return [node]


def _uri_of(attribute: Attribute) -> str | None:
    schema = getattr(attribute.binding.model, "__schema__", None)
    return str(schema) if schema else None
