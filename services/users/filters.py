"""SCIM filter (RFC 7644 §3.4.2.2) → SQL condition on the users table, evaluated in the database.

Parsing is scim2-models'; this module only maps the parsed tree onto columns. Anything it
cannot map is refused with ``invalidFilter`` — a silently empty result would make the IdP
create duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scim2_models import EnterpriseUser, InvalidFilterException, ScimFilter, User
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
)
from sqlalchemy import ColumnElement, and_, false, not_, or_

from services.users.domain import InvalidFilter, user_name_key
from services.users.store import UserRow

CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"

Column = Any  # an instrumented SQLModel column
Normaliser = Callable[[str], str]


def _as_sent(value: str) -> str:
    return value


# attribute (lower case) → (column, how a filter value is normalised to match the column)
_COLUMNS: dict[str, tuple[Column, Normaliser]] = {
    # stored case-folded, so every operator is case-insensitive (RFC 7643 §4.1.1)
    "username": (UserRow.user_name_key, user_name_key),
    # caseExact per RFC 7643 §3.1 and §3.4
    "externalid": (UserRow.external_id, _as_sent),
    "id": (UserRow.id, _as_sent),
}


def parse(text: str) -> FilterNode:
    try:
        return ScimFilter[User[EnterpriseUser]](text).ast
    except InvalidFilterException as error:
        raise InvalidFilter(f"The filter {text!r} is not valid: {error}.") from error


def to_condition(text: str) -> ColumnElement[bool]:
    return _node(parse(text))


def _node(node: FilterNode) -> ColumnElement[bool]:
    if isinstance(node, LogicalExpr):
        combine = and_ if node.op == LogicalOperator.and_ else or_
        return combine(*(_node(term) for term in node.terms))
    if isinstance(node, Not):
        return not_(_node(node.expr))
    if isinstance(node, Present):
        column, _ = _column(node.attr_path)
        return and_(column.is_not(None), column != "")
    if isinstance(node, Comparison):
        return _comparison(node)
    raise InvalidFilter(f"Filtering on {node} is not supported for Users yet.")


def _column(path: AttrPath) -> tuple[Column, Normaliser]:
    if path.uri not in (None, CORE_USER_URN) or path.sub_attr is not None:
        raise InvalidFilter(f'Filtering on "{path}" is not supported for Users yet.')
    found = _COLUMNS.get(path.attr.lower())
    if found is None:
        raise InvalidFilter(f'Filtering on "{path}" is not supported for Users yet.')
    return found


def _comparison(node: Comparison) -> ColumnElement[bool]:
    column, normalise = _column(node.attr_path)
    if not isinstance(node.value, str):
        return false()  # a non-string never equals a string attribute (RFC 7644 §3.4.2.2)
    try:
        node.value.encode()
    except UnicodeEncodeError:
        raise InvalidFilter(f"The filter value for {node.attr_path} is not valid Unicode text.") from None
    return _apply(node.op, column, normalise(node.value))


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _apply(op: CompareOperator, target: Column, value: str) -> ColumnElement[bool]:
    escaped = _like_escape(value)
    operators: dict[CompareOperator, Callable[[], ColumnElement[bool]]] = {
        CompareOperator.eq: lambda: target == value,
        CompareOperator.ne: lambda: or_(target != value, target.is_(None)),
        CompareOperator.co: lambda: target.like(f"%{escaped}%", escape="\\"),
        CompareOperator.sw: lambda: target.like(f"{escaped}%", escape="\\"),
        CompareOperator.ew: lambda: target.like(f"%{escaped}", escape="\\"),
        CompareOperator.gt: lambda: target > value,
        CompareOperator.ge: lambda: target >= value,
        CompareOperator.lt: lambda: target < value,
        CompareOperator.le: lambda: target <= value,
    }
    return operators[op]()
