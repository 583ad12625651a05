"""GET /Users sortBy (RFC 7644 §3.4.2.3), evaluated by the users service in its database (SQLite and
PostgreSQL): ascending and descending, missing values, ties, multi-valued attributes by their primary
value, and the sortBy values refused.
"""

from __future__ import annotations

import pytest

from contracts.rejections import RejectionReason
from contracts.users import ContactValue, EnterpriseInfo, ListUsers, UserPage, UserProfile
from services.users.tests.conftest import UsersHarness
from services.users.tests.search_helpers import create_user, refusal_of, search_page

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# sortBy (RFC 7644 §3.4.2.3)


def test_sort_by_ascending_descending_missing_values_and_ties(harness: UsersHarness) -> None:
    profiles = [
        UserProfile(user_name="u1", title="beta"),
        UserProfile(user_name="u2"),
        UserProfile(user_name="u3", title="Alpha"),
        UserProfile(user_name="u4", title="BETA"),
        UserProfile(user_name="u5"),
    ]
    for profile in profiles:
        create_user(harness, profile)

    def order(sort_by: str, *, descending: bool = False, start_index: int = 1, count: int = 100) -> list[str]:
        query = ListUsers(sort_by=sort_by, sort_descending=descending, start_index=start_index, count=count)
        page = harness.ask(query)
        assert isinstance(page, UserPage), page
        return [user.profile.user_name for user in page.users]

    assert order("title") == ["u3", "u1", "u4", "u2", "u5"]  # case-insensitive, ties by creation
    assert order("TITLE", descending=True) == ["u2", "u5", "u1", "u4", "u3"]  # missing first
    assert order("title", start_index=2, count=2) == ["u1", "u4"]
    assert order("userName", descending=True) == ["u5", "u4", "u3", "u2", "u1"]
    assert search_page(harness, sort_by="title", filter="title pr", count=0).total_results == 3


def test_sort_by_a_multi_valued_attribute_uses_its_primary_value(harness: UsersHarness) -> None:
    def emails(*pairs: tuple[str, bool]) -> tuple[ContactValue, ...]:
        return tuple(ContactValue(value=value, primary=primary) for value, primary in pairs)

    create_user(harness, UserProfile(user_name="p1", emails=emails(("a@x.io", False), ("z@x.io", True))))
    create_user(harness, UserProfile(user_name="p2", emails=emails(("m@x.io", False), ("b@x.io", False))))
    create_user(harness, UserProfile(user_name="p3"))
    create_user(harness, UserProfile(user_name="p4", emails=emails(("c@x.io", True))))

    def order(sort_by: str) -> list[str]:
        return [user.profile.user_name for user in search_page(harness, sort_by=sort_by).users]

    assert order("emails") == ["p4", "p2", "p1", "p3"]  # z (primary), m (first), none, c (primary)
    assert order("emails.value") == order("emails")
    assert order("emails.primary") == ["p2", "p1", "p4", "p3"]  # false < true


def test_sort_by_an_extension_attribute_with_or_without_its_urn(harness: UsersHarness) -> None:
    for name, department in (("d1", "Sales"), ("d2", "Audit"), ("d3", None)):
        create_user(harness, UserProfile(user_name=name, enterprise=EnterpriseInfo(department=department)))

    def order(sort_by: str) -> list[str]:
        return [user.profile.user_name for user in search_page(harness, sort_by=sort_by).users]

    assert order(f"{ENTERPRISE}:department") == ["d2", "d1", "d3"]
    assert order("department") == order("DEPARTMENT") == ["d2", "d1", "d3"]


@pytest.mark.parametrize(
    ("sort_by", "named"),
    [
        ("favouriteColour", "favouriteColour"),
        ("name", "name"),
        ("addresses", "addresses"),
        ("password", "password"),
        ("ims", "ims"),
        ("meta.location", "meta.location"),
        ('emails[type eq "work"]', "emails"),
    ],
)
def test_unusable_sort_by_is_invalid_value_naming_it(harness: UsersHarness, sort_by: str, named: str) -> None:
    detail = refusal_of(harness, RejectionReason.INVALID_VALUE, sort_by=sort_by)
    assert named.lower() in detail.lower(), detail
