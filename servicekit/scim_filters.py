"""Mechanics every service that evaluates SCIM filters shares (RFC 7644 §3.4.2.2): how big a parsed
filter is, which dateTime operands are accepted, and the human reason a filter or sortBy was refused.
No rules about any resource."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError
from scim2_models import SCIMException
from scim2_models.path import Comparison, FilterNode, LogicalExpr, Not, ValuePath

MAX_COMPARISONS = 100
"""Comparisons and presence tests one filter may hold; IdPs send one or two."""

MAX_OPERAND_LENGTH = 4096
"""Characters of one compared string. Far above any attribute an IdP filters on; below it, a
``co``/``ew`` pattern stays within SQLite's LIKE limit (50,000 bytes) even escaped, which would
otherwise fail the query on every delivery and set it aside as a dead letter."""


def _leaves(node: FilterNode) -> Iterator[FilterNode]:
    """Comparisons and presence tests, in order; without recursion (a PATCH path's filter is not bounded
    by the filters' comparison count)."""
    pending = [node]
    while pending:
        node = pending.pop()
        if isinstance(node, LogicalExpr):
            pending.extend(reversed(node.terms))
        elif isinstance(node, Not):
            pending.append(node.expr)
        elif isinstance(node, ValuePath):
            pending.append(node.val_filter)
        else:
            yield node


def comparisons_in(node: FilterNode) -> int:
    """How many comparisons and presence tests a filter holds: its work on each value it is tried on."""
    return sum(1 for _ in _leaves(node))


def beyond_bounds(node: FilterNode) -> str | None:
    """Why a parsed filter asks for more work than one request may, or None: too many comparisons
    and presence tests, or too long a compared string."""
    leaves = list(_leaves(node))
    if len(leaves) > MAX_COMPARISONS:
        return (
            f"The filter has {len(leaves)} comparisons; at most {MAX_COMPARISONS} are accepted in one filter."
        )
    operands = (leaf.value for leaf in leaves if isinstance(leaf, Comparison) and isinstance(leaf.value, str))
    longest = max(map(len, operands), default=0)
    if longest > MAX_OPERAND_LENGTH:
        return (
            f"A filter compares a string of {longest} characters; at most {MAX_OPERAND_LENGTH} are accepted."
        )
    return None


def refusal_reason(error: Exception) -> str:
    """What scim2-models or pydantic said was wrong, fit for an error ``detail``."""
    if isinstance(error, ValidationError):
        return "; ".join(str(item["msg"]) for item in error.errors())
    if isinstance(error, SCIMException):
        return str(error.detail or error)
    return str(error)


# RFC 7643 §2.3.5: a dateTime is an xsd:dateTime with no omitted components, "2008-01-23T04:56:22Z";
# "t" and "z" in lower case too, as RFC 3339 §5.6 allows and scim2-models reads them.
_XSD_DATETIME = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def is_datetime_operand(value: Any) -> bool:
    """Whether a filter may compare a dateTime attribute with ``value`` (``null`` aside).

    scim2-models coerces a filter's operand with pydantic, which also reads ``5`` and ``"2020"`` as
    seconds since 1970, and a time without a zone names no instant. A client sending those means
    something else, so the filter is refused rather than answered for 1970 or matched by nothing."""
    return isinstance(value, str) and _XSD_DATETIME.fullmatch(value) is not None


def datetime_refusal(attribute: str) -> str:
    return f"The value for {attribute} must be a dateTime with a time zone, e.g. 2026-01-01T00:00:00Z."
