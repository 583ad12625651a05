"""Filters on users' booleans and dateTimes, evaluated by the users service in its database (SQLite and
PostgreSQL): what an unassigned ``active`` matches, and which operands a dateTime is compared with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.rejections import RejectionReason
from contracts.users import UserProfile
from services.users.tests.conftest import UsersHarness
from services.users.tests.search_helpers import create_user, found_names, refusal_of


def test_an_unassigned_active_is_no_value_to_filters(harness: UsersHarness) -> None:
    """A user created without ``active`` (or whose ``active`` a PATCH removed) is active to Roster and
    holds a seat, but has no value to compare: RFC 7644 §3.4.2.2 matches no comparison on an
    unassigned attribute, as scim2-models does (docs/scim-clients.md, "active left unassigned")."""
    unassigned = create_user(harness, UserProfile(user_name="unassigned@example.com", active=None))
    create_user(harness, UserProfile(user_name="on@example.com", active=True))
    create_user(harness, UserProfile(user_name="off@example.com", active=False))
    assert unassigned.profile.active is None and unassigned.profile.is_active
    assert found_names(harness, "active eq true") == ["on@example.com"]
    assert found_names(harness, "active pr") == ["on@example.com", "off@example.com"]
    assert found_names(harness, "not (active eq false)") == ["unassigned@example.com", "on@example.com"]


def test_datetimes_compare_as_instants(harness: UsersHarness) -> None:
    first = create_user(harness, UserProfile(user_name="first@example.com"))
    create_user(harness, UserProfile(user_name="second@example.com"))
    created = first.created.astimezone(UTC)
    in_madrid = created.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+02:00").tzinfo)
    assert found_names(harness, f'meta.created eq "{in_madrid.isoformat()}"') == ["first@example.com"]
    assert found_names(harness, f'meta.created gt "{in_madrid.isoformat()}"') == ["second@example.com"]
    later = (created + timedelta(microseconds=1)).isoformat().replace("+00:00", "Z")
    assert found_names(harness, f'meta.created lt "{later}"') == ["first@example.com"]
    both = ["first@example.com", "second@example.com"]
    assert found_names(harness, 'meta.created gt "2000-01-01T00:00:00Z"') == both
    assert found_names(harness, 'meta.created co "20"') == []  # a dateTime never contains a string
    # RFC 7643 §2.3.5: not read as seconds since 1970 (5, "2020"), nor as a time with no zone
    for operand in ('"2026-01-01T00:00:00"', '"2026-01-01"', "5", '"2020"'):
        detail = refusal_of(harness, RejectionReason.INVALID_FILTER, filter=f"meta.created gt {operand}")
        assert (
            detail
            == "The value for meta.created must be a dateTime with a time zone, e.g. 2026-01-01T00:00:00Z."
        )
    detail = refusal_of(harness, RejectionReason.INVALID_FILTER, filter="meta.lastModified ge 0")
    assert detail.startswith("The value for meta.lastModified must be")
