"""GET /Users parameters and POST /Users/.search bodies → ListUsers, purely."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.users import ListUsers
from services.gateway import listing
from services.gateway.errors import ScimProblem


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [(None, None, (1, 100)), ("0", "5", (1, 5)), ("-3", "-1", (1, 0)), ("7", "5000", (7, 1000))],
)
def test_paging_follows_rfc_7644_section_3_4_2_4(
    start: str | None, count: str | None, expected: tuple[int, int]
) -> None:
    assert listing.paging(start, count, max_page_size=1000) == expected


def test_huge_start_index_is_clamped_not_overflowed() -> None:
    assert listing.paging("99999999999999999999", "1", max_page_size=10) == (2**31 - 1, 1)


@pytest.mark.parametrize(("start", "count"), [("one", None), (None, "1.5")])
def test_non_numeric_paging_is_invalid_value(start: str | None, count: str | None) -> None:
    with pytest.raises(ScimProblem) as caught:
        listing.paging(start, count, max_page_size=10)
    assert (caught.value.status, caught.value.scim_type) == (400, "invalidValue")


@pytest.mark.parametrize(("order", "descending"), [(None, False), ("ascending", False), ("DESCENDING", True)])
def test_sort_order(order: str | None, descending: bool) -> None:
    assert listing.sort_descending(order) is descending


def test_unknown_sort_order_is_invalid_value() -> None:
    with pytest.raises(ScimProblem) as caught:
        listing.sort_descending("sideways")
    assert caught.value.scim_type == "invalidValue"


def test_search_body_has_the_same_semantics_as_query_parameters() -> None:
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "a"',
        "startIndex": 3,
        "count": 2,
        "sortBy": "name.familyName",
        "sortOrder": "descending",
        "attributes": ["userName", "emails"],
    }
    query, shown = listing.search_query(body, max_page_size=100)
    assert query == ListUsers(
        filter='userName sw "a"', start_index=3, count=2, sort_by="name.familyName", sort_descending=True
    )
    assert [str(path) for path in shown.attributes or ()] == ["userName", "emails"]


def test_search_body_must_be_an_object_and_lists_must_hold_names() -> None:
    with pytest.raises(ScimProblem) as caught:
        listing.search_query(["x"], max_page_size=10)
    assert caught.value.scim_type == "invalidSyntax"
    with pytest.raises(ScimProblem) as caught:
        listing.search_query({"attributes": [1, 2]}, max_page_size=10)
    assert caught.value.scim_type == "invalidValue"
