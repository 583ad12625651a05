"""GET /Users filters, evaluated by the users service in its database (SQLite and PostgreSQL).

The randomised comparison with scim2-models is in ``test_search_properties.py``; these are the
filters real IdPs send and the refusals. sortBy is in ``test_search_sorting.py``, the index's upkeep
in ``test_search_index.py``.
"""

from __future__ import annotations

from datetime import UTC

import pytest

from contracts.rejections import RejectionReason
from contracts.users import ContactValue, EnterpriseInfo, PersonName, RosterRole, UserProfile
from servicekit import scim_filters
from services.users.attributes import HEAD_LENGTH
from services.users.tests.conftest import UsersHarness
from services.users.tests.search_helpers import create_user, found_names, okta_user, refusal_of, search_page

# What Okta and Entra send (docs/scim-clients.md)


def test_okta_and_entra_lookups(harness: UsersHarness) -> None:
    ann = create_user(harness, okta_user("Ann.Lee@Example.com"))
    bob = create_user(
        harness,
        okta_user(
            "bob@example.com",
            emails=(
                ContactValue(value="bob@home.example", type="home", primary=False),
                ContactValue(value="Bob.Work@Example.com", type="work", primary=True),
            ),
        ),
    )
    create_user(harness, okta_user("carol@example.com", external_id=None))

    assert found_names(harness, 'userName eq "ann.lee@EXAMPLE.com"') == ["Ann.Lee@Example.com"]
    assert found_names(harness, 'userName eq "nobody@example.com"') == []
    assert found_names(harness, 'externalId eq "00uAnn.Lee"') == ["Ann.Lee@Example.com"]
    assert found_names(harness, 'externalId eq "00uann.lee"') == []  # caseExact (RFC 7643 §3.1)
    assert found_names(harness, 'emails.value eq "BOB.WORK@example.com"') == ["bob@example.com"]
    assert found_names(harness, 'emails eq "bob@home.example"') == [
        "bob@example.com"
    ]  # emails means emails.value
    assert found_names(harness, 'emails[type eq "work"].value eq "bob.work@example.com"') == [
        "bob@example.com"
    ]
    assert found_names(harness, 'emails[type eq "work"].value eq "bob@home.example"') == []
    assert found_names(harness, 'emails[type eq "work" and value eq "bob@home.example"]') == []
    assert found_names(harness, f'id eq "{ann.id}"') == ["Ann.Lee@Example.com"]
    assert found_names(harness, f'id eq "{bob.id.upper()}"') == []  # ids are caseExact
    qualified = f'urn:ietf:params:scim:schemas:core:2.0:User:id eq "{bob.id}"'
    assert found_names(harness, qualified) == ["bob@example.com"]


def test_directory_addresses_are_found_and_any_operand_is_compared(harness: UsersHarness) -> None:
    """Hybrid Active Directory addresses (``corp.local``, a dotless host) are stored; a filter's value
    is compared with them whether or not it is an address itself (RFC 7644 §3.4.2.2)."""
    create_user(harness, okta_user("ann@example.com", emails=(ContactValue(value="Ann@Corp.local"),)))
    create_user(harness, okta_user("bob@example.com", emails=(ContactValue(value="bob@fileserver"),)))

    assert found_names(harness, 'emails.value eq "ann@corp.LOCAL"') == ["ann@example.com"]
    assert found_names(harness, 'emails eq "BOB@fileserver"') == ["bob@example.com"]
    assert found_names(harness, 'emails.value eq "not an email"') == []
    assert found_names(harness, 'emails.value gt "b"') == ["bob@example.com"]


def test_value_filters_correlate_the_sub_attributes_of_one_element(harness: UsersHarness) -> None:
    create_user(
        harness,
        okta_user(
            "mixed@example.com",
            emails=(
                ContactValue(value="mixed@x.example", type="home"),
                ContactValue(value="mixed@y.example", type="work"),
            ),
        ),
    )
    create_user(
        harness, okta_user("work@example.com", emails=(ContactValue(value="w@x.example", type="work"),))
    )
    assert found_names(harness, 'emails[type eq "work" and value co "@x.example"]') == ["work@example.com"]
    assert found_names(harness, 'emails.type eq "work" and emails.value co "@x.example"') == [
        "mixed@example.com",
        "work@example.com",
    ]
    assert found_names(harness, 'emails[not (type eq "work")]') == ["mixed@example.com"]
    assert found_names(harness, 'not (emails[type eq "home"])') == ["work@example.com"]


def test_every_attribute_the_client_sees_is_filterable(harness: UsersHarness) -> None:
    rich = create_user(
        harness,
        UserProfile(
            user_name="rich@example.com",
            display_name="Rich Ríos",
            nick_name="Ricky",
            title="VP Sales",
            user_type="Employee",
            locale="es-ES",
            timezone="Europe/Madrid",
            preferred_language="es",
            profile_url="https://example.com/rich",
            active=False,
            name=PersonName(given_name="Rich", family_name="Ríos", honorific_prefix="Dr."),
            phone_numbers=(ContactValue(value="+34 600 000 000", type="mobile", primary=True),),
            roles=(ContactValue(value="Admin", primary=True), ContactValue(value="auditor")),
            roster_role=RosterRole.MANAGER,
            enterprise=EnterpriseInfo(
                employee_number="E-7",
                cost_center="CC1",
                organization="Acme",
                division="South",
                department="Sales",
                manager_ref="boss-7",
                manager_display="Boss",
            ),
        ),
    )
    create_user(harness, UserProfile(user_name="plain@example.com"))
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    roster = "urn:roster:params:scim:schemas:extension:roster:2.0:User"
    for text in (
        'displayName co "RÍOS"',
        'nickName eq "ricky"',
        'title sw "vp"',
        'userType eq "employee"',
        'locale eq "ES-es"',
        'timezone ew "madrid"',
        'preferredLanguage eq "ES"',
        'profileUrl eq "https://example.com/rich"',
        "active eq false",
        'name.givenName eq "RICH"',
        "NAME.HONORIFICPREFIX pr",
        'phoneNumbers[type eq "mobile" and primary eq true]',
        'phoneNumbers.value sw "+34"',
        'roles eq "admin"',
        'roles[value eq "auditor" and primary eq false]',
        f'{enterprise}:employeeNumber eq "e-7"',
        f'{enterprise.upper()}:COSTCENTER eq "cc1"',
        f'{enterprise}:organization eq "acme"',
        f'{enterprise}:division eq "south"',
        f'{enterprise}:department eq "SALES"',
        f'{enterprise}:manager.value eq "boss-7"',
        f'{enterprise}:manager.displayName eq "boss"',
        f"{enterprise}:manager pr",
        f'{roster}:role eq "Manager"',
        # An extension's attribute without its URN (RFC 7644 §3.10: unambiguous here).
        'department eq "sales"',
        'manager.value eq "boss-7"',
        "MANAGER pr",
        'employeeNumber eq "e-7" and role eq "manager"',
        f'schemas eq "{enterprise}"',
        f'schemas[value eq "{roster}"]',
        f'meta.created eq "{rich.created.isoformat()}"',
        f'meta.lastModified le "{rich.last_modified.astimezone(UTC).isoformat()}"',
        'meta.version eq "W/\\"1\\"" and userName sw "rich"',
        'meta.resourceType eq "User" and title pr',
    ):
        assert found_names(harness, text) == ["rich@example.com"], text
    assert found_names(harness, 'meta.resourceType eq "user"') == []  # caseExact
    assert found_names(harness, f"not ({enterprise}:manager pr)") == ["plain@example.com"]
    assert found_names(harness, "active eq true") == ["plain@example.com"]


def test_null_and_presence(harness: UsersHarness) -> None:
    create_user(harness, UserProfile(user_name="bare@example.com", title=""))
    create_user(
        harness,
        UserProfile(
            user_name="valueless@example.com",
            emails=(ContactValue(type="work"), ContactValue(value="v@example.com")),
        ),
    )
    full = UserProfile(user_name="full@example.com", title="CEO", emails=(ContactValue(value="f@x.io"),))
    create_user(harness, full)
    assert found_names(harness, "title pr") == ["full@example.com"]  # "" is not present
    assert found_names(harness, 'title eq ""') == ["bare@example.com"]
    assert found_names(harness, "title eq null") == ["valueless@example.com"]
    assert found_names(harness, "title ne null") == ["bare@example.com", "full@example.com"]
    assert found_names(harness, 'title ne "CEO"') == ["bare@example.com", "valueless@example.com"]
    assert found_names(harness, "emails.value eq null") == ["bare@example.com", "valueless@example.com"]
    assert found_names(harness, "emails.value ne null") == ["full@example.com"]
    assert found_names(harness, "emails pr") == ["valueless@example.com", "full@example.com"]
    assert found_names(harness, 'emails[value eq null and type eq "work"]') == ["valueless@example.com"]
    assert found_names(harness, 'emails.value ne "v@example.com"') == ["bare@example.com", "full@example.com"]


def test_strings_order_by_code_point_and_patterns_are_literal(harness: UsersHarness) -> None:
    for name in ("a_b", "axb", "a%b", "zed", "Ärger", "ÿ", "Ā"):
        create_user(harness, UserProfile(user_name=f"{name}@example.com", title=name))
    assert found_names(harness, 'title co "_"') == ["a_b@example.com"]
    assert found_names(harness, 'title sw "A%"') == ["a%b@example.com"]
    above_z = ["zed@example.com", "Ärger@example.com", "ÿ@example.com", "Ā@example.com"]
    assert found_names(harness, 'title gt "z"') == above_z
    assert found_names(harness, 'title ge "zed"') == above_z
    assert found_names(harness, 'title gt "zed"') == above_z[1:]
    assert found_names(harness, 'title le "a%b"') == ["a%b@example.com"]
    assert found_names(harness, 'title lt "a%b"') == []
    assert found_names(harness, 'title lt "ā" and title gt "ärger"') == [
        "ÿ@example.com"
    ]  # U+E4 < U+FF < U+101


def test_values_longer_than_the_indexed_head(harness: UsersHarness) -> None:
    stem = "x" * (HEAD_LENGTH + 20)
    for suffix in ("a", "b", "c"):
        create_user(harness, UserProfile(user_name=f"{suffix}@example.com", display_name=stem + suffix))
    create_user(harness, UserProfile(user_name="nul@example.com", nick_name="a\x00b"))
    assert found_names(harness, f'displayName eq "{stem}B"') == ["b@example.com"]
    assert found_names(harness, f'displayName gt "{stem}a"') == ["b@example.com", "c@example.com"]
    assert found_names(harness, f'displayName le "{stem}b"') == ["a@example.com", "b@example.com"]
    assert found_names(harness, f'displayName sw "{stem}c"') == ["c@example.com"]
    every = ["a@example.com", "b@example.com", "c@example.com"]
    assert found_names(harness, f'displayName sw "{stem[:5]}"') == every
    assert found_names(harness, 'nickName eq "A\\u0000B"') == ["nul@example.com"]
    at_limit = "y" * HEAD_LENGTH
    create_user(harness, UserProfile(user_name="limit@example.com", title=at_limit))
    create_user(harness, UserProfile(user_name="beyond@example.com", title=at_limit + "y"))
    assert found_names(harness, f'title eq "{at_limit}"') == ["limit@example.com"]
    assert found_names(harness, f'title eq "{at_limit}Y"') == ["beyond@example.com"]
    assert found_names(harness, f'title ne "{at_limit}" and title pr') == ["beyond@example.com"]
    assert found_names(harness, f'title sw "{at_limit}"') == ["limit@example.com", "beyond@example.com"]


def test_filters_never_cross_tenants(harness: UsersHarness) -> None:
    create_user(harness, okta_user("shared@example.com"), tenant="acme")
    create_user(harness, okta_user("shared@example.com"), tenant="globex")
    assert len(search_page(harness, "acme", filter='userName eq "shared@example.com"').users) == 1
    assert len(search_page(harness, "initech", filter='userName eq "shared@example.com"').users) == 0
    assert len(search_page(harness, "initech", filter='not (userName eq "shared@example.com")').users) == 0


# Refusals: 400 invalidFilter, never an empty list


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('favouriteColour eq "teal"', "favouriteColour"),
        ('name.nickName eq "x"', "name.nickName"),
        ('emails[kind eq "work"]', "emails.kind"),
        ('urn:example:params:scim:Unknown:attr eq "x"', "urn:example:params:scim:Unknown:attr"),
        ("ims pr", "ims"),
        ('groups.value eq "team"', "groups.value"),
        ('password eq "secret"', "password"),
        ('meta.location eq "http://x/Users/1"', "meta.location"),
        ('name eq "Ann"', "name"),
        ('addresses co "x"', "addresses"),
        ('schemas[type eq "x"]', "schemas"),
        ('userName eq "unterminated', "userName"),
        ("userName eq 5", "userName"),
        ("active gt true", "active"),
        ('userName eq "\\ud800"', "userName"),
    ],
)
def test_unusable_filters_are_refused_with_the_reason(harness: UsersHarness, text: str, named: str) -> None:
    detail = refusal_of(harness, RejectionReason.INVALID_FILTER, filter=text)
    assert named.lower() in detail.lower(), detail


def test_a_filter_with_too_many_comparisons_is_refused(harness: UsersHarness) -> None:
    many = " or ".join(f'userName eq "u{i}"' for i in range(scim_filters.MAX_COMPARISONS))
    assert search_page(harness, filter=many).total_results == 0
    detail = refusal_of(harness, RejectionReason.INVALID_FILTER, filter=f"{many} or title pr")
    assert str(scim_filters.MAX_COMPARISONS) in detail


@pytest.mark.parametrize("op", ["co", "ew", "sw", "eq"])
def test_a_filter_comparing_too_long_a_string_is_refused_before_the_database_sees_it(
    harness: UsersHarness, op: str
) -> None:
    """SQLite refuses a LIKE pattern over 50,000 bytes: such a query would fail on every delivery and
    be set aside as a dead letter, for any tenant to page the operators with."""
    create_user(harness, okta_user("ann@example.com"))
    longest = "a" * scim_filters.MAX_OPERAND_LENGTH
    assert search_page(harness, filter=f'userName {op} "{longest}"').total_results == 0
    detail = refusal_of(harness, RejectionReason.INVALID_FILTER, filter=f'title {op} "{longest}%"')
    assert detail == (
        f"A filter compares a string of {scim_filters.MAX_OPERAND_LENGTH + 1} characters;"
        f" at most {scim_filters.MAX_OPERAND_LENGTH} are accepted."
    )
    escaped = "%" * 30_000  # doubled by escaping: past SQLite's limit at half the length
    assert refusal_of(harness, RejectionReason.INVALID_FILTER, filter=f'userName co "{escaped}"')


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('meta.created lt "9999-12-31T23:59:59-14:00"', True),  # after year 9999 in UTC
        ('meta.created gt "9999-12-31T23:59:59-14:00"', False),
        ('meta.lastModified eq "9999-12-31T23:59:59-14:00"', False),
        ('meta.created gt "0001-01-01T00:00:00+14:00"', True),  # before year 1 in UTC
        ('meta.created le "0001-01-01T00:00:00+14:00"', False),
    ],
)
def test_an_instant_beyond_the_years_utc_can_show_is_still_compared(
    harness: UsersHarness, text: str, matches: bool
) -> None:
    """RFC 7643 §2.3.5: a valid xsd:dateTime is an instant, even one whose UTC form is past 9999."""
    create_user(harness, okta_user("ann@example.com"))
    assert found_names(harness, text) == (["ann@example.com"] if matches else [])
