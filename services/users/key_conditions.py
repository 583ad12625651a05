"""Conditions on one key column of the search index (``user_attributes.value_key``, RFC 7644
§3.4.2.2 comparisons after scim2-models' coercion): a seek or a range on the indexed head of the key,
the full key deciding."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from scim2_models.path import CompareOperator
from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import aliased
from sqlmodel import col

from services.users.attributes import HEAD_LENGTH, head_of
from services.users.search_index import UserAttributeRow, value_head

Condition = ColumnElement[bool]
Rows = type[UserAttributeRow]  # the table, or an alias of it

_ALIASES: list[Rows] = []


def nth_alias(index: int) -> Rows:
    """The ``index``-th alias of ``user_attributes``, made once and shared by every statement.

    A statement needs a distinct alias per subquery, not a new one each time: adapting a fresh alias's
    columns was three quarters of the CPU of translating a ``userName eq`` filter (BENCHMARKS.md).
    Aliases are immutable, so threads may share them; two threads growing the list at once only
    leave a spare one at its end."""
    while len(_ALIASES) <= index:
        _ALIASES.append(cast(Rows, aliased(UserAttributeRow)))
    return _ALIASES[index]


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def matches(rows: Rows, op: CompareOperator, operand: str) -> Condition:
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


def has_value(rows: Rows) -> Condition:
    # Only a string can be empty; booleans and dateTimes are always present (scim2 ``_is_present``).
    return col(rows.value_key) != ""


def bind_matches(op: CompareOperator, operand: str) -> Callable[[Rows], Condition]:
    return lambda rows: matches(rows, op, operand)
