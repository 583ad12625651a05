"""Property test: sortBy evaluated in the database agrees with scim2-models in memory.

Random users go in through the real handlers (created, some replaced, some deleted; ``random_users.py``);
``ListUsers`` sorts them by attributes drawn from those that can be sorted by, in any spelling, both
ways. The oracle is scim2-models' ``SearchRequest.sort`` of the resources clients read, in creation
order; pages put together must give the same order. Each example uses a fresh tenant, on SQLite and on
PostgreSQL. The filters' property test is in ``test_search_properties.py``.
"""

from __future__ import annotations

import itertools
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scim2_models import SearchRequest

from contracts.scim import ScimUser
from contracts.users import ListUsers, UserPage
from services.users.tests.conftest import UsersHarness
from services.users.tests.random_users import (
    ENTERPRISE,
    EXAMPLES,
    PROPERTY_SETTINGS,
    ROSTER,
    populate,
    resource,
    spellings,
)

# Long property runs: minutes on PostgreSQL.
pytestmark = pytest.mark.slow

SORTABLE = [
    "userName", "displayName", "title", "externalId", "id", "active", "emails", "emails.value", "emails.type",
    "emails.primary", "phoneNumbers.value", "addresses.locality", "roles", "roles.value", "name.givenName",
    "name.familyName", "meta.created", "meta.lastModified", "meta.version", "schemas", "locale",
    f"{ENTERPRISE}:department", f"{ENTERPRISE}:manager.value", f"{ROSTER}:role",
]  # fmt: skip


@settings(PROPERTY_SETTINGS, max_examples=max(EXAMPLES // 2, 5))
@given(data=st.data())
def test_sort_by_orders_as_scim2_models_and_pages_stably(harness: UsersHarness, data: st.DataObject) -> None:
    tenant = uuid4().hex
    records = populate(harness, data, tenant)
    resources = [resource(record) for record in records]
    sort_bys = data.draw(st.lists(st.sampled_from(SORTABLE).flatmap(spellings), min_size=4, max_size=6))
    for sort_by, descending in itertools.product(sort_bys, (False, True)):
        expected = expected_order(sort_by, resources, descending=descending)
        page = harness.ask(ListUsers(sort_by=sort_by, sort_descending=descending, count=100), tenant=tenant)
        assert isinstance(page, UserPage), page
        assert [user.id for user in page.users] == expected, (sort_by, descending)
    # Pages put together give the same order: ties are broken by creation, never at random.
    size = data.draw(st.integers(1, 3), label="page size")
    seen: list[str] = []
    for start in range(1, len(records) + 1, size):
        query = ListUsers(sort_by=sort_bys[0], sort_descending=True, start_index=start, count=size)
        paged = harness.ask(query, tenant=tenant)
        assert isinstance(paged, UserPage), paged
        assert paged.total_results == len(records)
        seen += [user.id for user in paged.users]
    assert seen == expected_order(sort_bys[0], resources, descending=True)


def expected_order(sort_by: str, resources: list[ScimUser], *, descending: bool) -> list[str]:
    """scim2-models' ``SearchRequest.sort`` of the users in creation order."""
    direction = "descending" if descending else "ascending"
    request = SearchRequest[ScimUser](sort_by=sort_by, sort_order=direction)
    return [str(user.id) for user in request.sort(resources)]
