"""GET /Users and /Groups parameters and POST .search bodies → ListParameters, purely."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import SCIMException

from contracts.listing import ListParameters
from services.gateway.scim.listing import search_of
from services.gateway.scim.users.translate import UserProjection


def _paging(start: Any, count: Any, *, max_page_size: int) -> tuple[int, int]:
    raw = {name: value for name, value in (("startIndex", start), ("count", count)) if value is not None}
    parameters = search_of(raw, max_page_size=max_page_size).parameters
    return parameters.start_index, parameters.count


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [(None, None, (1, 100)), ("0", "5", (1, 5)), ("-3", "-1", (1, 0)), ("7", "5000", (7, 1000))],
)
def test_paging_follows_rfc_7644_section_3_4_2_4(
    start: str | None, count: str | None, expected: tuple[int, int]
) -> None:
    assert _paging(start, count, max_page_size=1000) == expected


def test_huge_start_index_is_clamped_not_overflowed() -> None:
    assert _paging("99999999999999999999", "1", max_page_size=10) == (2**31 - 1, 1)


def test_the_default_page_is_capped_too() -> None:
    assert _paging(None, None, max_page_size=10) == (1, 10)


@pytest.mark.parametrize(("start", "count"), [("one", None), (None, "1.5")])
def test_non_numeric_paging_is_invalid_value(start: str | None, count: str | None) -> None:
    with pytest.raises(SCIMException) as caught:
        _paging(start, count, max_page_size=10)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


@pytest.mark.parametrize(("order", "descending"), [(None, False), ("ascending", False), ("DESCENDING", True)])
def test_sort_order(order: str | None, descending: bool) -> None:
    raw = {"sortOrder": order} if order else {}
    assert search_of(raw, max_page_size=10).parameters.sort_descending is descending


def test_unknown_sort_order_is_invalid_value() -> None:
    with pytest.raises(SCIMException) as caught:
        search_of({"sortOrder": "sideways"}, max_page_size=10)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


def test_search_body_has_the_same_semantics_as_query_parameters() -> None:
    body: dict[str, Any] = {
        "filter": 'userName sw "a"',
        "startIndex": 3,
        "count": 2,
        "sortBy": "name.familyName",
        "sortOrder": "descending",
        "attributes": ["userName", "emails"],
    }
    search = search_of(body, max_page_size=100)
    assert search.parameters == ListParameters(
        filter='userName sw "a"', start_index=3, count=2, sort_by="name.familyName", sort_descending=True
    )
    assert [str(path) for path in search.shown(UserProjection).attributes or ()] == ["userName", "emails"]
    query = search_of({"attributes": "userName,emails"}, max_page_size=100)
    assert [str(path) for path in query.shown(UserProjection).attributes or ()] == ["userName", "emails"]


@pytest.mark.parametrize(
    ("raw", "scim_type"),
    [
        ({"attributes": [1, 2]}, "invalidValue"),
        ({"attributes": "userName", "excludedAttributes": "emails"}, "invalidValue"),
        ({"filter": 7}, "invalidValue"),
        ({"sortBy": 7}, "invalidValue"),
    ],
)
def test_invalid_search_parameters(raw: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(SCIMException) as caught:
        search_of(raw, max_page_size=10).shown(UserProjection)
    assert (caught.value.status, caught.value.scim_type) == (400, scim_type)


def test_both_projections_are_refused_in_the_clients_words() -> None:
    with pytest.raises(SCIMException) as caught:
        search_of({"attributes": "userName", "excludedAttributes": "emails"}, max_page_size=10).shown(
            UserProjection
        )
    assert caught.value.detail == (
        "attributes/excludedAttributes: give attributes or excludedAttributes, not both."
    )


def test_filter_and_sort_by_are_left_to_the_owner_to_judge() -> None:
    parameters = search_of({"filter": "bad filter", "sortBy": "members.value"}, max_page_size=10).parameters
    assert (parameters.filter, parameters.sort_by) == ("bad filter", "members.value")


def test_only_a_filter_or_sort_by_too_long_to_read_is_refused_here() -> None:
    longest = search_of({"filter": "x" * 16_384, "sortBy": "y" * 1_024}, max_page_size=10).parameters
    assert (len(longest.filter or ""), len(longest.sort_by or "")) == (16_384, 1_024)
    for raw, scim_type, detail in (
        (
            {"filter": "x" * 16_385},
            "invalidFilter",
            "The filter has 16,385 characters; at most 16,384 are accepted.",
        ),
        ({"sortBy": "y" * 1_025}, "invalidValue", "sortBy has 1,025 characters; at most 1,024 are accepted."),
    ):
        with pytest.raises(SCIMException) as caught:
            search_of(raw, max_page_size=10)
        assert (caught.value.status, caught.value.scim_type, caught.value.detail) == (400, scim_type, detail)


def test_only_attributes_too_many_or_too_long_to_parse_are_refused_here() -> None:
    names = [f"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName{i}" for i in range(128)]
    assert sum(map(len, names)) <= 8_192
    for given in (names, ",".join(names), ["title"] * 200):
        for field in ("attributes", "excludedAttributes"):
            search_of({field: given}, max_page_size=10).shown(UserProjection)
    for given, detail in (
        (["title"] * 201, "attributes/excludedAttributes: at most 200 names are accepted, not 201."),
        (
            ",".join(["title"] * 201),
            "attributes/excludedAttributes: at most 200 names are accepted, not 201.",
        ),
        (["x" * 8_193], "attributes/excludedAttributes: at most 8,192 characters are accepted, not 8,193."),
    ):
        for field in ("attributes", "excludedAttributes"):
            with pytest.raises(SCIMException) as caught:
                search_of({field: given}, max_page_size=10).shown(UserProjection)
            assert (caught.value.status, caught.value.scim_type, caught.value.detail) == (
                400,
                "invalidValue",
                detail,
            )
