"""``sortBy`` (RFC 7644 §3.4.2.3) → the index path and direction the store sorts users by."""

from __future__ import annotations

from pydantic import ValidationError
from scim2_models import SCIMException, SearchRequest
from scim2_models.path import AttributeBinding

from servicekit.scim_filters import refusal_reason
from services.users.attributes import SearchUser, extension_owning, supported
from services.users.domain import InvalidUser
from services.users.store import SortOrder


def sort_order(sort_by: str, *, descending: bool) -> SortOrder:
    """RFC 7644 §3.4.2.3, resolved as scim2-models' ``SearchRequest.sort`` resolves it: a multi-valued
    attribute sorts by its primary (else first) element, ``emails`` by ``emails.value``. An extension's
    attribute may be named without its URN where filters take it so (``extension_owning``)."""
    binding = _binding(sort_by)
    extension = None if ":" in sort_by else extension_owning(sort_by.split(".", 1)[0])
    if isinstance(binding, str) and extension is not None:
        binding = _binding(f"{extension}:{sort_by}")
    if isinstance(binding, str):
        raise InvalidUser(f"sortBy {sort_by!r} cannot be used: {binding}.")
    attribute, refusal = supported(binding, sort_by, doing="Sorting by")
    if attribute is None:
        raise InvalidUser(refusal)
    return SortOrder(path=attribute.path, descending=descending)


def _binding(sort_by: str) -> AttributeBinding | str:
    """The attribute ``sort_by`` names, or why it names none."""
    try:
        binding = SearchRequest[SearchUser](sort_by=sort_by).sort_binding(SearchUser)
    except (ValidationError, SCIMException) as error:
        return refusal_reason(error)
    return binding if binding is not None else "it names no attribute Users can be sorted on"
