"""``sortBy`` (RFC 7644 §3.4.2.3) → the index path and direction the store sorts users by."""

from __future__ import annotations

from pydantic import ValidationError
from scim2_models import SCIMException, SearchRequest

from contracts.scim import qualified_user_path
from servicekit.scim_filters import refusal_reason
from services.users.attributes import SearchUser, supported
from services.users.domain import InvalidUser
from services.users.store import SortOrder


def sort_order(sort_by: str, *, descending: bool) -> SortOrder:
    """RFC 7644 §3.4.2.3, resolved as scim2-models' ``SearchRequest.sort`` resolves it: a multi-valued
    attribute sorts by its primary (else first) element, ``emails`` by ``emails.value``. An extension's
    attribute may be named without its URN (``qualified_user_path``)."""
    try:
        request = SearchRequest[SearchUser](sort_by=qualified_user_path(sort_by))
    except (ValidationError, SCIMException) as error:
        raise InvalidUser(f"sortBy {sort_by!r} cannot be used: {refusal_reason(error)}.") from None
    binding = request.sort_binding(SearchUser)
    if binding is None:  # pragma: no cover - the request validated it
        raise InvalidUser(f"sortBy {sort_by!r} names no attribute Users can be sorted on.")
    attribute, refusal = supported(binding, sort_by, doing="Sorting by")
    if attribute is None:
        raise InvalidUser(refusal)
    return SortOrder(path=attribute.path, descending=descending)
