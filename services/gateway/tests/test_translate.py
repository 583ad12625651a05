"""Pure SCIM ↔ contracts translation and request parsing: no network, no database."""

from __future__ import annotations

import gc
import weakref
from datetime import UTC, datetime
from typing import Any

import pytest
from scim2_models import ListResponse, SCIMException

from contracts.scim import ScimGroup, ScimUser
from contracts.users import RosterRole, UserPage, UserRecord
from services.gateway.http.auth import bearer_token
from services.gateway.scim.groups import translate as group_translate
from services.gateway.scim.listing import projection
from services.gateway.scim.users import translate
from tests.okta import ENTERPRISE, user_body

ROSTER = "urn:roster:params:scim:schemas:extension:roster:2.0:User"


def _problem(body: Any) -> SCIMException:
    with pytest.raises(SCIMException) as caught:
        translate.profile_from_scim(body)
    return caught.value


def test_okta_create_body_maps_every_supported_attribute() -> None:
    profile = translate.profile_from_scim(user_body("ann@example.com"))
    assert profile.user_name == "ann@example.com"
    assert profile.name is not None and profile.name.given_name == "Ann"
    assert [(e.value, e.type, e.primary) for e in profile.emails] == [("ann@example.com", "work", True)]
    assert (profile.locale, profile.title, profile.external_id, profile.active) == (
        "en-US",
        "Account Executive",
        "00uann",
        True,
    )
    assert profile.enterprise is not None
    assert (profile.enterprise.department, profile.enterprise.manager_ref) == ("Sales", "boss@example.com")


def test_password_and_unknown_attributes_are_dropped_at_any_depth() -> None:
    body = user_body("x@example.com", password="hunter2", shoeSize=44)
    body["name"]["unknownSub"] = 1
    body["emails"][0]["verified"] = True
    profile = translate.profile_from_scim(body)
    dumped = profile.model_dump_json()
    assert "hunter2" not in dumped and "shoeSize" not in dumped and "verified" not in dumped
    assert profile.emails[0].value == "x@example.com"


def test_entra_bare_string_manager_and_string_booleans() -> None:
    body = {"userName": "e@example.com", "active": "False", ENTERPRISE: {"manager": "MGR-7"}}
    profile = translate.profile_from_scim(body)
    assert profile.active is False
    assert profile.enterprise is not None and profile.enterprise.manager_ref == "MGR-7"


def test_attribute_names_are_case_insensitive() -> None:
    profile = translate.profile_from_scim({"USERNAME": "caps@example.com", "DisplayName": "Caps"})
    assert (profile.user_name, profile.display_name) == ("caps@example.com", "Caps")


def test_core_attributes_named_with_their_schema_urn_are_read_as_their_short_names() -> None:
    """RFC 7644 §3.10; ignored as unknown, a PUT would erase the title it sets."""
    core = "urn:ietf:params:scim:schemas:core:2.0:User"
    body = {
        f"{core}:userName": "q@example.com",
        f"{core}:title": "VP",
        f"{core.upper()}:NAME": {"givenName": "Ann"},
        ENTERPRISE: {"department": "Sales"},
    }
    profile = translate.profile_from_scim(body)
    assert (profile.user_name, profile.title) == ("q@example.com", "VP")
    assert profile.name is not None and profile.name.given_name == "Ann"
    assert profile.enterprise is not None and profile.enterprise.department == "Sales"


def test_a_blank_user_name_is_left_to_the_users_domain_to_refuse() -> None:
    assert translate.profile_from_scim({"userName": " "}).user_name == " "


def test_active_defaults_to_true_and_title_is_never_invented() -> None:
    profile = translate.profile_from_scim({"userName": "min@example.com"})
    assert profile.active is True and profile.title is None


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        ({}, 400, "invalidValue"),
        ({"userName": 42}, 400, "invalidValue"),
        ({"userName": "x", "emails": [{"value": "not-an-email"}]}, 400, "invalidValue"),
        ({"userName": "x", "emails": [{"value": "Ann Lee <ann@example.com>"}]}, 400, "invalidValue"),
        ({"userName": "x", "emails": [{"value": "ann@"}]}, 400, "invalidValue"),
        ({"userName": "x", "emails": [{"value": "ann\u200b@example.com"}]}, 400, "invalidValue"),
        (
            {
                "userName": "x",
                "emails": [
                    {"value": "a@x.example", "primary": True},
                    {"value": "b@x.example", "primary": True},
                ],
            },
            400,
            "invalidValue",
        ),
        (
            {
                "userName": "x",
                "phoneNumbers": [{"value": "1", "primary": True}, {"value": "2", "primary": True}],
            },
            400,
            "invalidValue",
        ),
        ({"userName": "x", ENTERPRISE: {"manager": [{"value": "m1"}, {"value": "m2"}]}}, 400, "invalidValue"),
        ([], 400, "invalidSyntax"),
        ("text", 400, "invalidSyntax"),
    ],
)
def test_invalid_bodies(body: Any, status: int, scim_type: str) -> None:
    problem = _problem(body)
    assert (problem.status, problem.scim_type) == (status, scim_type)
    assert problem.detail


@pytest.mark.parametrize(
    "address", ["Ann.Lee@Example.COM", "ann@corp.local", "ann@fileserver", "ann@example.test", "名@例え.jp"]
)
def test_directory_addresses_are_kept_exactly_as_sent(address: str) -> None:
    """Hybrid Active Directory and intranet addresses are addresses (RFC 7643 §4.1.2: RFC 5321 is a
    SHOULD), and what an identity provider sent is what it reads back."""
    profile = translate.profile_from_scim({"userName": "x", "emails": [{"value": address, "type": "work"}]})
    assert [email.value for email in profile.emails] == [address]


def test_validation_errors_never_echo_the_input() -> None:
    problem = _problem({"userName": "x", "password": "hunter2", "emails": [{"value": "hunter2"}]})
    assert "hunter2" not in problem.detail


def test_a_value_sent_twice_is_held_once() -> None:
    email = {"value": "a@x.example", "primary": True, "type": "work"}
    profile = translate.profile_from_scim(
        {"userName": "x", "emails": [email, email], "roles": [{"value": "r"}] * 2}
    )
    assert ([e.value for e in profile.emails], [r.value for r in profile.roles]) == (["a@x.example"], ["r"])


def test_rendering_round_trips_and_never_returns_a_password() -> None:
    profile = translate.profile_from_scim(user_body("r@example.com"))
    now = datetime(2026, 11, 22, tzinfo=UTC)
    record = UserRecord(id="u-1", profile=profile, created=now, last_modified=now, version=3)
    body = translate.user_body(record, base_url="https://roster.test/scim/v2")
    assert body["meta"] == {
        "resourceType": "User",
        "created": "2026-11-22T00:00:00Z",
        "lastModified": "2026-11-22T00:00:00Z",
        "location": "https://roster.test/scim/v2/Users/u-1",
        "version": 'W/"3"',
    }
    assert "password" not in body
    assert translate.profile_from_scim(body) == profile
    page = translate.list_body(UserPage(total_results=5, start_index=2, users=(record,)), base_url="b")
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 1)


def test_attributes_take_an_extensions_attribute_by_its_bare_name_as_filters_do() -> None:
    profile = translate.profile_from_scim(user_body("r@example.com"))
    now = datetime(2026, 11, 22, tzinfo=UTC)
    record = UserRecord(id="u-1", profile=profile, created=now, last_modified=now, version=3)
    shown = projection(translate.UserProjection, "userName,department,manager.value", None)
    body = translate.user_body(record, base_url="b", shown=shown)
    assert body["userName"] == "r@example.com" and "title" not in body
    assert body[ENTERPRISE] == {"department": "Sales", "manager": {"value": "boss@example.com"}}
    kept = translate.user_body(
        record, base_url="b", shown=projection(translate.UserProjection, None, "DEPARTMENT")
    )
    assert "department" not in kept[ENTERPRISE] and kept["title"]
    trailing = projection(translate.UserProjection, "userName,department,", None).attributes
    assert trailing is not None and len(trailing) == 2  # a trailing comma names nothing, as on Groups
    groups = projection(group_translate.GroupProjection, "displayName,department", None)
    assert groups.attributes is not None and [str(name) for name in groups.attributes][1] == "department"


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("Bearer Bearer abc", "abc"),  # an admin typed "Bearer" into Okta's token field
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer a b", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_parsing(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_scim_roles_are_kept_as_sent_and_the_roster_role_derived_from_them() -> None:
    profile = translate.profile_from_scim(
        {"userName": "r@example.com", "roles": [{"value": "sales-rep"}, {"value": "Coach", "primary": True}]}
    )
    assert [r.value for r in profile.roles] == ["sales-rep", "Coach"]
    assert profile.role == RosterRole.COACH and profile.roster_role is None
    plain = translate.profile_from_scim({"userName": "p@example.com", "roles": [{"value": "sales-rep"}]})
    assert plain.role == RosterRole.LEARNER


def test_the_roster_extension_role_wins_and_is_strict() -> None:
    body = {"userName": "x@example.com", "roles": [{"value": "coach"}], ROSTER: {"role": "Manager"}}
    assert translate.profile_from_scim(body).role == RosterRole.MANAGER
    problem = _problem({"userName": "x@example.com", ROSTER: {"role": "wizard"}})
    assert (problem.status, problem.scim_type) == (400, "invalidValue")
    assert "learner, coach, manager, admin" in problem.detail


def test_manager_reference_display_and_uri_round_trip() -> None:
    manager = {"value": "m-1", "$ref": "https://idp.example.com/Users/m-1", "displayName": "Boss"}
    profile = translate.profile_from_scim({"userName": "m@example.com", ENTERPRISE: {"manager": manager}})
    record = UserRecord(
        id="u", profile=profile, created=datetime.now(UTC), last_modified=datetime.now(UTC), version=1
    )
    assert translate.user_body(record, base_url="b")[ENTERPRISE]["manager"] == manager


@pytest.mark.parametrize("listed", [ScimUser, ScimGroup])
def test_the_list_response_models_outlive_a_garbage_collection(listed: Any) -> None:
    # pydantic keeps a parametrized model only while something refers to it: one rebuilt per
    # request after each collection costs milliseconds (BENCHMARKS.md, fixed latency).
    assert ListResponse[listed] in (translate.UserList, group_translate.GroupList)
    made = weakref.ref(ListResponse[listed])
    gc.collect()
    assert made() is ListResponse[listed]
