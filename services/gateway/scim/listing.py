"""List and search requests (RFC 7644 §3.4.2, §3.4.3), and what every response shows (§3.9).

GET query parameters and POST ``.search`` bodies are read alike, paging by scim2-models' ``SearchRequest``
(which floors ``startIndex`` at 1 and ``count`` at 0), into the ``ListParameters`` both owners take.
``attributes``/``excludedAttributes`` are checked against the resource type that is rendered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError
from scim2_models import (
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    ResponseParameters,
    SearchRequest,
)

from contracts.listing import MAX_INDEX, ListParameters
from contracts.scim import ScimUser, qualified_user_path
from services.gateway.http.body import read_json
from services.gateway.http.dependencies import SettingsDep
from services.gateway.http.errors import only_allowing, refusal

DEFAULT_PAGE_SIZE = 100  # Okta's own page size
QUERY_PARAMETERS = (
    "filter",
    "startIndex",
    "count",
    "sortBy",
    "sortOrder",
    "attributes",
    "excludedAttributes",
)
_CANONICAL = {name.lower(): name for name in QUERY_PARAMETERS}

Shown = TypeVar("Shown", bound=ResponseParameters[Any])


def projection(kind: type[Shown], attributes: Any, excluded_attributes: Any) -> Shown:
    """RFC 7644 §3.9 parameters (comma-separated, or lists) checked for one resource type. §3.9 names no
    scimType for a refusal; Roster answers invalidValue, whatever scim2-models objects to."""
    if attributes and excluded_attributes:  # said here: scim2-models' words name its Python field
        raise InvalidValueException(
            detail="attributes/excludedAttributes: give attributes or excludedAttributes, not both."
        )
    _refuse_long_projection(attributes or excluded_attributes)
    if kind.__pydantic_generic_metadata__["args"] == (ScimUser,):
        attributes, excluded_attributes = _qualified(attributes), _qualified(excluded_attributes)
    try:
        return kind.model_validate(
            {"attributes": attributes or None, "excluded_attributes": excluded_attributes or None}
        )
    except ValidationError as error:
        raise InvalidValueException(
            detail=f"attributes/excludedAttributes: {refusal(error).detail}."
        ) from None


# scim2-models parses each name as a path, on the event loop (no worker thread for a parse), ~50 µs a
# name and more than linearly in a value filter's length: 20,000 names took it 1 s. A User has ~80
# attributes and sub-attributes; all of them URN-qualified are ~4,000 characters.
MAX_PROJECTION_NAMES = 200
MAX_PROJECTION_CHARACTERS = 8_192


def _refuse_long_projection(names: Any) -> None:
    listed = names.split(",") if isinstance(names, str) else names if isinstance(names, list) else []
    if len(listed) > MAX_PROJECTION_NAMES:
        raise InvalidValueException(
            detail=f"attributes/excludedAttributes: at most {MAX_PROJECTION_NAMES} names are accepted,"
            f" not {len(listed)}."
        )
    characters = sum(len(name) for name in listed if isinstance(name, str))
    if characters > MAX_PROJECTION_CHARACTERS:
        raise InvalidValueException(
            detail=f"attributes/excludedAttributes: at most {MAX_PROJECTION_CHARACTERS:,} characters are"
            f" accepted, not {characters:,}."
        )


def _qualified(names: Any) -> Any:
    """A User extension's attributes named bare (``department``) as filters and ``sortBy`` take them
    (``qualified_user_path``), in the form they came (a comma-separated string or a list); anything
    else, empty names included, as given, for the library to judge."""
    if isinstance(names, str):
        return ",".join(
            qualified_user_path(name.strip()) if name.strip() else name for name in names.split(",")
        )
    if isinstance(names, list):
        return [qualified_user_path(name.strip()) if isinstance(name, str) else name for name in names]
    return names


def query_parameters(request: Request) -> dict[str, str]:
    """The SCIM query parameters by their RFC 7644 names, however the client cased them (§3.4.2: they
    are case-insensitive, as in a ``.search`` body). Ignoring ``Filter=`` instead would answer a
    lookup before a create with the whole tenant, and the client would link to its first user."""
    found: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        canonical = _CANONICAL.get(name.lower())
        if canonical is not None:
            found[canonical] = value  # the last of a repeated parameter, as Starlette's get() gives
    return found


def shown_by_query(kind: type[Shown]) -> Callable[..., Awaitable[Shown]]:
    """A dependency reading ``attributes``/``excludedAttributes`` from the query, for one resource type
    (``async``: no worker thread for a parse, see http/dependencies.py)."""

    async def shown(request: Request) -> Shown:
        given = query_parameters(request)
        return projection(kind, given.get("attributes"), given.get("excludedAttributes"))

    return shown


@dataclass(frozen=True)
class Search:
    """One list or search request: what the owners are asked, and what the response shows."""

    parameters: ListParameters
    attributes: Any = None
    excluded_attributes: Any = None

    def shown(self, kind: type[Shown]) -> Shown:
        return projection(kind, self.attributes, self.excluded_attributes)


def search_of(raw: dict[str, Any], *, max_page_size: int) -> Search:
    """GET parameters or a SearchRequest body. ``filter`` and ``sortBy`` are the owner's to judge: it
    resolves them against its own resource type (a Group has no ``userName``) and says what is wrong
    with them. What the response shows is checked for the resource type rendered (``Search.shown``)."""
    raw = dict(raw)
    attributes, excluded_attributes = raw.pop("attributes", None), raw.pop("excludedAttributes", None)
    text, sort_by = _text(raw.pop("filter", None), "filter"), _text(raw.pop("sortBy", None), "sortBy")
    _refuse_too_long(text, sort_by)
    if isinstance(raw.get("sortOrder"), str):
        raw["sortOrder"] = raw[
            "sortOrder"
        ].lower()  # RFC 7644 §3.4.2.3 spells it in lower case; any case does
    try:
        request: SearchRequest[Any] = SearchRequest.model_validate(raw)
    except ValidationError as error:
        raise refusal(error) from None
    parameters = ListParameters(
        filter=text,
        start_index=min(request.start_index or 1, MAX_INDEX),
        count=min(DEFAULT_PAGE_SIZE if request.count is None else request.count, max_page_size),
        sort_by=sort_by,
        sort_descending=request.sort_order == SearchRequest.SortOrder.descending,
    )
    return Search(parameters, attributes, excluded_attributes)


def _text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidValueException(detail=f"{name} must be a string.")
    return value or None


# An owner parses these on the query consumer that answers every tenant's lookups in turn, ~1 µs a
# character, and its refusal of an invalid filter quotes it. Far above what an IdP sends (one or two
# comparisons), and above 100 comparisons (the owners' bound) of ordinary length or one compared
# string of 4,096 characters (theirs too).
MAX_FILTER_CHARACTERS = 16_384
MAX_SORT_BY_CHARACTERS = 1_024  # an attribute path: a URN and two names


def _refuse_too_long(text: str | None, sort_by: str | None) -> None:
    if text is not None and len(text) > MAX_FILTER_CHARACTERS:
        raise InvalidFilterException(
            detail=f"The filter has {len(text):,} characters; at most {MAX_FILTER_CHARACTERS:,} are accepted."
        )
    if sort_by is not None and len(sort_by) > MAX_SORT_BY_CHARACTERS:
        raise InvalidValueException(
            detail=f"sortBy has {len(sort_by):,} characters; at most {MAX_SORT_BY_CHARACTERS:,} are accepted."
        )


_BEYOND_INT64 = 2.0**63


def _require_json_integers(raw: dict[str, Any]) -> None:
    """RFC 7644 §3.4.3 types ``startIndex`` and ``count`` as integers: in a body, JSON integers only, as
    the admin seat limit. Pydantic would read ``true`` as 1 and ``"10"`` or ``10.0`` as 10."""
    for name in ("startIndex", "count"):
        value = raw.get(name)
        if isinstance(value, float) and value.is_integer() and abs(value) >= _BEYOND_INT64:
            # orjson reads an integer literal beyond 64 bits as a float: still an integer, past any
            # index, read as a query parameter's digits are (search_of bounds it).
            raw[name] = MAX_INDEX if value > 0 else -MAX_INDEX
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidValueException(detail=f"{name} must be a whole number (a JSON integer).")


def _given(raw: dict[str, Any]) -> dict[str, Any]:
    """Absent and empty parameters alike take their default."""
    return {name: value for name, value in raw.items() if value is not None and value != ""}


async def _search(request: Request, settings: SettingsDep) -> Search:
    if request.method == "GET":
        raw = query_parameters(request)
    else:  # POST …/.search (RFC 7644 §3.4.3): the same parameters in a SearchRequest body
        body = await read_json(request, limit=settings.max_body_bytes)
        if not isinstance(body, dict):
            raise InvalidSyntaxException(detail="The request body must be a JSON object (a SearchRequest).")
        # Parameter names are case-insensitive (RFC 7644 §3.4.2). ``schemas`` goes with them, for
        # SearchRequest's own check (another message's schema is refused, an omitted one asserts nothing).
        body_names = {**_CANONICAL, "schemas": "schemas"}
        raw = {body_names[name.lower()]: value for name, value in body.items() if name.lower() in body_names}
        _require_json_integers(raw)
    return search_of(_given(raw), max_page_size=settings.max_page_size)


SearchDep = Annotated[Search, Depends(_search)]


def refuse_non_post_searches(router: APIRouter, path: str) -> None:
    """``…/.search`` takes POST (RFC 7644 §3.4.3): another method there is 405 ``Allow: POST``, not a
    lookup of a resource whose id is ``.search`` by the route of ``…/{id}`` (registered after this)."""
    router.add_api_route(
        path, only_allowing("POST"), methods=["GET", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
