"""GET /Users query parameters and POST /Users/.search bodies → a ``ListUsers`` query (RFC 7644 §3.4)."""

from __future__ import annotations

from typing import Any

from contracts.users import MAX_INDEX, ListUsers
from services.gateway.errors import ScimProblem
from services.gateway.translate import Projection, projection

DEFAULT_PAGE_SIZE = 100  # Okta's own page size


def paging(start_index: str | int | None, count: str | int | None, *, max_page_size: int) -> tuple[int, int]:
    """RFC 7644 §3.4.2.4: startIndex < 1 means 1; count < 0 means 0; count is capped."""
    start = _as_int(start_index, "startIndex", default=1)
    size = _as_int(count, "count", default=min(DEFAULT_PAGE_SIZE, max_page_size))
    return min(max(start, 1), MAX_INDEX), min(max(size, 0), max_page_size)


def _as_int(raw: str | int | None, name: str, *, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ScimProblem(400, f"{name} must be an integer, got {raw!r}.", "invalidValue") from None


def sort_descending(sort_order: str | None) -> bool:
    """RFC 7644 §3.4.2.3: ascending unless told otherwise."""
    if sort_order is None or sort_order.lower() == "ascending":
        return False
    if sort_order.lower() == "descending":
        return True
    raise ScimProblem(
        400, f'sortOrder must be "ascending" or "descending", got {sort_order!r}.', "invalidValue"
    )


def list_query(
    *,
    filter: str | None,
    start_index: str | int | None,
    count: str | int | None,
    sort_by: str | None,
    sort_order: str | None,
    max_page_size: int,
) -> ListUsers:
    start, size = paging(start_index, count, max_page_size=max_page_size)
    return ListUsers(
        filter=filter or None,
        start_index=start,
        count=size,
        sort_by=sort_by or None,
        sort_descending=sort_descending(sort_order),
    )


def search_query(body: Any, *, max_page_size: int) -> tuple[ListUsers, Projection]:
    """POST /Users/.search (RFC 7644 §3.4.3): the same semantics as GET, in a body."""
    if not isinstance(body, dict):
        raise ScimProblem(400, "The request body must be a JSON object (a SearchRequest).", "invalidSyntax")
    # Parameter names are case-insensitive; the filter is left to the users service to judge.
    raw = {key.lower(): value for key, value in body.items()}
    query = list_query(
        filter=raw.get("filter"),
        start_index=raw.get("startindex"),
        count=raw.get("count"),
        sort_by=raw.get("sortby"),
        sort_order=raw.get("sortorder"),
        max_page_size=max_page_size,
    )
    shown = projection(_joined(raw.get("attributes")), _joined(raw.get("excludedattributes")))
    return query, shown


def _joined(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    raise ScimProblem(
        400, "attributes and excludedAttributes must be lists of attribute names.", "invalidValue"
    )
