"""Okta's lookup before every create, ``userName eq "…"``, answered from the users table's own unique key
(``store.users_named``) instead of a search-index query: the one filter every create flow sends."""

from __future__ import annotations

from typing import Any

from scim2_models import SCIMException, ScimFilter
from scim2_models.path import CompareOperator, Comparison

from services.users.attributes import CATALOG, canonical_path
from services.users.operands import coerced_operand

_USER_NAME = CATALOG["username"]


def user_name_key_sought(parsed: ScimFilter[Any]) -> str | None:
    """The comparison key a filter that is exactly ``userName eq "…"`` asks for (Okta's lookup before
    every create), else None. ``users.user_name_key`` holds the filters' key of every userName
    (``domain.user_name_key``; schema revision 0004 rewrote older ones), so the users table's unique
    index answers the filter (``store.users_named``) without building a search-index query; the
    operand is checked and refused exactly as on the general path (``coerced_operand``)."""
    node = parsed.ast
    if not (isinstance(node, Comparison) and node.op == CompareOperator.eq):
        return None
    try:
        binding = parsed.resolve_comparison(node.attr_path, strict=True)
    except SCIMException:
        return None  # the general path says why it is refused
    if binding is None or canonical_path(binding) != _USER_NAME.path:
        return None
    operand = coerced_operand(_USER_NAME, node.op, node.value)
    return operand if isinstance(operand, str) else None  # eq null, or nothing equals it: general path
