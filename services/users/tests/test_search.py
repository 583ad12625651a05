"""GET /Users filters and sortBy, evaluated by the users service in its database (SQLite and PostgreSQL).

The randomised comparison with scim2-models is in ``test_search_properties.py``; these are the
filters real IdPs send, the refusals, and the index's upkeep.
"""

from __future__ import annotations

from datetime import UTC
from uuid import uuid4

import pytest
from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, select

from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected, Deleted
from contracts.users import (
    ContactValue,
    CreateUser,
    DeleteUser,
    EnterpriseInfo,
    ListUsers,
    PersonName,
    ReplaceUser,
    RosterRole,
    UserPage,
    UserProfile,
    UserRecord,
    UserReply,
)
from services.users import filters
from services.users.attributes import HEAD_LENGTH, INDEX_VERSION
from services.users.backfills import refresh_search_index
from services.users.search_index import SearchIndexState, UserAttributeRow
from services.users.tests.conftest import UsersHarness


def _create(harness: UsersHarness, profile: UserProfile, *, tenant: str = "acme") -> UserRecord:
    reply = harness.ask(CreateUser(user_id=str(uuid4()), profile=profile), tenant=tenant)
    assert isinstance(reply, UserReply), reply
    return reply.user


def _okta_user(user_name: str, **changes: object) -> UserProfile:
    profile = UserProfile(
        user_name=user_name,
        external_id=f"00u{user_name.split('@')[0]}",
        name=PersonName(given_name=user_name.split("@")[0].title(), family_name="Lee"),
        emails=(ContactValue(value=user_name, type="work", primary=True),),
        enterprise=EnterpriseInfo(department="Sales", manager_ref="boss@example.com"),
    )
    return profile.model_copy(update=changes)


def _page(harness: UsersHarness, tenant: str = "acme", **query: object) -> UserPage:
    reply = harness.ask(ListUsers.model_validate(query), tenant=tenant)
    assert isinstance(reply, UserPage), reply
    return reply


def _names(harness: UsersHarness, text: str, *, tenant: str = "acme") -> list[str]:
    page = _page(harness, tenant, filter=text)
    assert page.total_results == len(page.users)
    return [user.profile.user_name for user in page.users]


def _refusal(harness: UsersHarness, reason: RejectionReason, **query: object) -> str:
    reply = harness.ask(ListUsers.model_validate(query))
    assert isinstance(reply, CommandRejected), (query, reply)
    assert reply.reason == reason, reply
    return reply.detail


# What Okta and Entra send (docs/scim-clients.md)


def test_okta_and_entra_lookups(harness: UsersHarness) -> None:
    ann = _create(harness, _okta_user("Ann.Lee@Example.com"))
    bob = _create(
        harness,
        _okta_user(
            "bob@example.com",
            emails=(
                ContactValue(value="bob@home.example", type="home", primary=False),
                ContactValue(value="Bob.Work@Example.com", type="work", primary=True),
            ),
        ),
    )
    _create(harness, _okta_user("carol@example.com", external_id=None))

    assert _names(harness, 'userName eq "ann.lee@EXAMPLE.com"') == ["Ann.Lee@Example.com"]
    assert _names(harness, 'userName eq "nobody@example.com"') == []
    assert _names(harness, 'externalId eq "00uAnn.Lee"') == ["Ann.Lee@Example.com"]
    assert _names(harness, 'externalId eq "00uann.lee"') == []  # caseExact (RFC 7643 §3.1)
    assert _names(harness, 'emails.value eq "BOB.WORK@example.com"') == ["bob@example.com"]
    assert _names(harness, 'emails eq "bob@home.example"') == ["bob@example.com"]  # emails means emails.value
    assert _names(harness, 'emails[type eq "work"].value eq "bob.work@example.com"') == ["bob@example.com"]
    assert _names(harness, 'emails[type eq "work"].value eq "bob@home.example"') == []
    assert _names(harness, 'emails[type eq "work" and value eq "bob@home.example"]') == []
    assert _names(harness, f'id eq "{ann.id}"') == ["Ann.Lee@Example.com"]
    assert _names(harness, f'id eq "{bob.id.upper()}"') == []  # ids are caseExact
    qualified = f'urn:ietf:params:scim:schemas:core:2.0:User:id eq "{bob.id}"'
    assert _names(harness, qualified) == ["bob@example.com"]


def test_value_filters_correlate_the_sub_attributes_of_one_element(harness: UsersHarness) -> None:
    _create(
        harness,
        _okta_user(
            "mixed@example.com",
            emails=(
                ContactValue(value="mixed@x.example", type="home"),
                ContactValue(value="mixed@y.example", type="work"),
            ),
        ),
    )
    _create(harness, _okta_user("work@example.com", emails=(ContactValue(value="w@x.example", type="work"),)))
    assert _names(harness, 'emails[type eq "work" and value co "@x.example"]') == ["work@example.com"]
    assert _names(harness, 'emails.type eq "work" and emails.value co "@x.example"') == [
        "mixed@example.com",
        "work@example.com",
    ]
    assert _names(harness, 'emails[not (type eq "work")]') == ["mixed@example.com"]
    assert _names(harness, 'not (emails[type eq "home"])') == ["work@example.com"]


def test_every_attribute_the_client_sees_is_filterable(harness: UsersHarness) -> None:
    rich = _create(
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
    _create(harness, UserProfile(user_name="plain@example.com"))
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
        f'schemas eq "{enterprise}"',
        f'schemas[value eq "{roster}"]',
        f'meta.created eq "{rich.created.isoformat()}"',
        f'meta.lastModified le "{rich.last_modified.astimezone(UTC).isoformat()}"',
        'meta.version eq "W/\\"1\\"" and userName sw "rich"',
        'meta.resourceType eq "User" and title pr',
    ):
        assert _names(harness, text) == ["rich@example.com"], text
    assert _names(harness, 'meta.resourceType eq "user"') == []  # caseExact
    assert _names(harness, f"not ({enterprise}:manager pr)") == ["plain@example.com"]
    assert _names(harness, "active eq true") == ["plain@example.com"]


def test_null_and_presence(harness: UsersHarness) -> None:
    _create(harness, UserProfile(user_name="bare@example.com", title=""))
    _create(
        harness,
        UserProfile(
            user_name="valueless@example.com",
            emails=(ContactValue(type="work"), ContactValue(value="v@example.com")),
        ),
    )
    full = UserProfile(user_name="full@example.com", title="CEO", emails=(ContactValue(value="f@x.io"),))
    _create(harness, full)
    assert _names(harness, "title pr") == ["full@example.com"]  # "" is not present
    assert _names(harness, 'title eq ""') == ["bare@example.com"]
    assert _names(harness, "title eq null") == ["valueless@example.com"]
    assert _names(harness, "title ne null") == ["bare@example.com", "full@example.com"]
    assert _names(harness, 'title ne "CEO"') == ["bare@example.com", "valueless@example.com"]
    assert _names(harness, "emails.value eq null") == ["bare@example.com", "valueless@example.com"]
    assert _names(harness, "emails.value ne null") == ["full@example.com"]
    assert _names(harness, "emails pr") == ["valueless@example.com", "full@example.com"]
    assert _names(harness, 'emails[value eq null and type eq "work"]') == ["valueless@example.com"]
    assert _names(harness, 'emails.value ne "v@example.com"') == ["bare@example.com", "full@example.com"]


def test_strings_order_by_code_point_and_patterns_are_literal(harness: UsersHarness) -> None:
    for name in ("a_b", "axb", "a%b", "zed", "Ärger", "ÿ", "Ā"):
        _create(harness, UserProfile(user_name=f"{name}@example.com", title=name))
    assert _names(harness, 'title co "_"') == ["a_b@example.com"]
    assert _names(harness, 'title sw "A%"') == ["a%b@example.com"]
    above_z = ["zed@example.com", "Ärger@example.com", "ÿ@example.com", "Ā@example.com"]
    assert _names(harness, 'title gt "z"') == above_z
    assert _names(harness, 'title ge "zed"') == above_z
    assert _names(harness, 'title gt "zed"') == above_z[1:]
    assert _names(harness, 'title le "a%b"') == ["a%b@example.com"]
    assert _names(harness, 'title lt "a%b"') == []
    assert _names(harness, 'title lt "ā" and title gt "ärger"') == ["ÿ@example.com"]  # U+E4 < U+FF < U+101


def test_values_longer_than_the_indexed_head(harness: UsersHarness) -> None:
    stem = "x" * (HEAD_LENGTH + 20)
    for suffix in ("a", "b", "c"):
        _create(harness, UserProfile(user_name=f"{suffix}@example.com", display_name=stem + suffix))
    _create(harness, UserProfile(user_name="nul@example.com", nick_name="a\x00b"))
    assert _names(harness, f'displayName eq "{stem}B"') == ["b@example.com"]
    assert _names(harness, f'displayName gt "{stem}a"') == ["b@example.com", "c@example.com"]
    assert _names(harness, f'displayName le "{stem}b"') == ["a@example.com", "b@example.com"]
    assert _names(harness, f'displayName sw "{stem}c"') == ["c@example.com"]
    every = ["a@example.com", "b@example.com", "c@example.com"]
    assert _names(harness, f'displayName sw "{stem[:5]}"') == every
    assert _names(harness, 'nickName eq "A\\u0000B"') == ["nul@example.com"]
    at_limit = "y" * HEAD_LENGTH
    _create(harness, UserProfile(user_name="limit@example.com", title=at_limit))
    _create(harness, UserProfile(user_name="beyond@example.com", title=at_limit + "y"))
    assert _names(harness, f'title eq "{at_limit}"') == ["limit@example.com"]
    assert _names(harness, f'title eq "{at_limit}Y"') == ["beyond@example.com"]
    assert _names(harness, f'title ne "{at_limit}" and title pr') == ["beyond@example.com"]
    assert _names(harness, f'title sw "{at_limit}"') == ["limit@example.com", "beyond@example.com"]


def test_index_follows_replace_and_delete(harness: UsersHarness) -> None:
    user = _create(harness, _okta_user("dan@example.com"))
    changed = user.profile.model_copy(
        update={"user_name": "daniel@example.com", "emails": (), "enterprise": None, "active": False}
    )
    assert isinstance(harness.ask(ReplaceUser(user_id=user.id, profile=changed)), UserReply)
    assert _names(harness, 'userName eq "dan@example.com"') == []
    assert _names(harness, 'userName eq "daniel@example.com"') == ["daniel@example.com"]
    assert _names(harness, 'emails.value eq "dan@example.com" or emails pr') == []
    assert _names(harness, 'meta.version eq "W/\\"2\\"" and active eq false') == ["daniel@example.com"]
    assert isinstance(harness.ask(DeleteUser(user_id=user.id)), Deleted)
    assert _names(harness, f'id eq "{user.id}"') == []
    with Session(harness.engine) as session:
        assert session.exec(select(func.count()).select_from(UserAttributeRow)).one() == 0


def test_filters_never_cross_tenants(harness: UsersHarness) -> None:
    _create(harness, _okta_user("shared@example.com"), tenant="acme")
    _create(harness, _okta_user("shared@example.com"), tenant="globex")
    assert len(_page(harness, "acme", filter='userName eq "shared@example.com"').users) == 1
    assert len(_page(harness, "initech", filter='userName eq "shared@example.com"').users) == 0
    assert len(_page(harness, "initech", filter='not (userName eq "shared@example.com")').users) == 0


def test_okta_lookup_by_user_name_answers_as_the_general_path(harness: UsersHarness) -> None:
    """``userName eq "…"`` alone is answered from the users table's key (``store.users_named``); the
    same filter with a term that changes nothing takes the search index: the two agree."""
    long_name = "l" * 150 + "@example.com"  # longer than an index entry's head
    for name in ("Ann.Lee@Example.com", "Zoë.Åberg@Example.com", "J\u030cohn@example.com", long_name):
        _create(harness, _okta_user(name))
    _create(harness, _okta_user("idle@example.com", active=False))
    gone = _create(harness, _okta_user("gone@example.com"))
    assert isinstance(harness.ask(DeleteUser(user_id=gone.id)), Deleted)
    _create(harness, _okta_user("elsewhere@example.com"), tenant="globex")
    operands = (
        *(
            "ANN.LEE@example.com",
            "zoe\u0308.a\u030aberg@EXAMPLE.COM",
            "\u01f0ohn@example.com",
            long_name.upper(),
        ),
        *("idle@example.com", "gone@example.com", "elsewhere@example.com", "nobody@example.com"),
    )
    for attribute in ("userName", "USERNAME", "urn:ietf:params:scim:schemas:core:2.0:User:userName"):
        for operand in operands:
            for start_index, count in ((1, 100), (2, 100), (1, 0)):
                paging = {"start_index": start_index, "count": count}
                alone = _page(harness, "acme", filter=f'{attribute} eq "{operand}"', **paging)
                general = _page(harness, "acme", filter=f'{attribute} eq "{operand}" and id pr', **paging)
                assert (alone.total_results, alone.users) == (general.total_results, general.users), operand
    assert _names(harness, 'userName eq "\u01f0ohn@example.com"') == ["J\u030cohn@example.com"]
    assert _names(harness, 'userName eq "idle@example.com"') == ["idle@example.com"]
    with Session(harness.engine) as session, session.begin():
        session.execute(delete(UserAttributeRow))  # the general path finds nobody now …
    assert _names(harness, 'userName eq "ann.lee@example.com"') == ["Ann.Lee@Example.com"]  # … this one does
    # The table's key is the filters' key for every name, not only for ASCII ones.
    assert _names(harness, 'userName eq "\u01f0ohn@example.com"') == ["J\u030cohn@example.com"]
    assert _names(harness, 'userName eq "ZOE\u0308.\u00c5BERG@example.com"') == ["Zoë.Åberg@Example.com"]
    assert _names(harness, 'userName eq "ann.lee@example.com" and id pr') == []
    _refusal(
        harness, RejectionReason.INVALID_VALUE, filter='userName eq "ann.lee@example.com"', sort_by="ims"
    )


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
        ('emails.value eq "not an email"', "emails.value"),
        ('userName eq "\\ud800"', "userName"),
    ],
)
def test_unusable_filters_are_refused_with_the_reason(harness: UsersHarness, text: str, named: str) -> None:
    detail = _refusal(harness, RejectionReason.INVALID_FILTER, filter=text)
    assert named.lower() in detail.lower(), detail


def test_a_filter_with_too_many_comparisons_is_refused(harness: UsersHarness) -> None:
    many = " or ".join(f'userName eq "u{i}"' for i in range(filters.MAX_COMPARISONS))
    assert _page(harness, filter=many).total_results == 0
    detail = _refusal(harness, RejectionReason.INVALID_FILTER, filter=f"{many} or title pr")
    assert str(filters.MAX_COMPARISONS) in detail


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
        _create(harness, profile)

    def order(sort_by: str, *, descending: bool = False, start_index: int = 1, count: int = 100) -> list[str]:
        query = ListUsers(sort_by=sort_by, sort_descending=descending, start_index=start_index, count=count)
        page = harness.ask(query)
        assert isinstance(page, UserPage), page
        return [user.profile.user_name for user in page.users]

    assert order("title") == ["u3", "u1", "u4", "u2", "u5"]  # case-insensitive, ties by creation
    assert order("TITLE", descending=True) == ["u2", "u5", "u1", "u4", "u3"]  # missing first
    assert order("title", start_index=2, count=2) == ["u1", "u4"]
    assert order("userName", descending=True) == ["u5", "u4", "u3", "u2", "u1"]
    assert _page(harness, sort_by="title", filter="title pr", count=0).total_results == 3


def test_sort_by_a_multi_valued_attribute_uses_its_primary_value(harness: UsersHarness) -> None:
    def emails(*pairs: tuple[str, bool]) -> tuple[ContactValue, ...]:
        return tuple(ContactValue(value=value, primary=primary) for value, primary in pairs)

    _create(harness, UserProfile(user_name="p1", emails=emails(("a@x.io", False), ("z@x.io", True))))
    _create(harness, UserProfile(user_name="p2", emails=emails(("m@x.io", False), ("b@x.io", False))))
    _create(harness, UserProfile(user_name="p3"))
    _create(harness, UserProfile(user_name="p4", emails=emails(("c@x.io", True))))

    def order(sort_by: str) -> list[str]:
        return [user.profile.user_name for user in _page(harness, sort_by=sort_by).users]

    assert order("emails") == ["p4", "p2", "p1", "p3"]  # z (primary), m (first), none, c (primary)
    assert order("emails.value") == order("emails")
    assert order("emails.primary") == ["p2", "p1", "p4", "p3"]  # false < true


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
    detail = _refusal(harness, RejectionReason.INVALID_VALUE, sort_by=sort_by)
    assert named.lower() in detail.lower(), detail


# Users stored before the index existed


def test_backfill_indexes_users_stored_before_the_index(harness: UsersHarness, users_engine: Engine) -> None:
    _create(harness, _okta_user("old@example.com"))
    _create(harness, _okta_user("older@example.com"))
    with Session(users_engine) as session, session.begin():
        session.execute(delete(UserAttributeRow))
    assert _names(harness, 'userName sw "old"') == []
    assert refresh_search_index(users_engine) == 2
    assert _names(harness, 'userName sw "old"') == ["old@example.com", "older@example.com"]
    assert refresh_search_index(users_engine) == 0


def test_an_index_written_by_another_version_is_rebuilt(harness: UsersHarness, users_engine: Engine) -> None:
    user = _create(harness, _okta_user("stale@example.com"))
    assert refresh_search_index(users_engine) == 0  # the migration recorded this code's version
    with Session(users_engine) as session, session.begin():
        session.execute(update(UserAttributeRow).values(value_key="stale"))
        state = session.get(SearchIndexState, 1)
        assert state is not None and state.version == INDEX_VERSION
        state.version = INDEX_VERSION - 1
    assert _names(harness, 'userName sw "stale@"') == []
    # Okta's lookup is answered from the users table's own key, which no index version touches.
    assert _names(harness, 'userName eq "stale@example.com"') == ["stale@example.com"]
    assert refresh_search_index(users_engine) == 1
    assert _names(harness, 'userName sw "stale@"') == ["stale@example.com"]
    assert _names(harness, f'userName eq "stale@example.com" and id eq "{user.id}"') == ["stale@example.com"]
