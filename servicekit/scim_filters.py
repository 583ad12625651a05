"""Mechanics every service that evaluates SCIM filters shares (RFC 7644 §3.4.2.2): how big a parsed
filter is, which dateTime operands are accepted, and the human reason a filter or sortBy was refused.
No rules about any resource."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from scim2_models import SCIMException
from scim2_models.path import FilterNode, LogicalExpr, Not, ValuePath


def comparison_count(node: FilterNode) -> int:
    """Comparisons and presence tests in a parsed filter: a bound on the work it asks for."""
    if isinstance(node, LogicalExpr):
        return sum(comparison_count(term) for term in node.terms)
    if isinstance(node, Not):
        return comparison_count(node.expr)
    if isinstance(node, ValuePath):
        return comparison_count(node.val_filter)
    return 1


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
