"""Mechanics every service that evaluates SCIM filters shares (RFC 7644 §3.4.2.2): how big a parsed
filter is, and the human reason a filter or sortBy was refused. No rules about any resource."""

from __future__ import annotations

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
