"""Property tests: filters and sortBy evaluated in the database agree with scim2-models in memory.

Random users go in through the real handlers (created, some replaced, some deleted); random filters
built from the RFC 7644 grammar over every supported attribute go to ``ListUsers``. The oracle is
``ScimFilter[ScimUser](text).match(resource)`` on the resource clients read
(``contracts.rendering.render_user``), and ``SearchRequest.sort`` for sortBy. A filter the
oracle refuses must be refused (invalidFilter); one it accepts must select the same users, in
creation order. Each example uses a fresh tenant, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, replace
from datetime import timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scim2_models import Context, InvalidFilterException, ScimFilter, SearchRequest
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)

from contracts.rejections import RejectionReason
from contracts.rendering import render_user
from contracts.replies import CommandRejected
from contracts.scim import ScimUser
from contracts.users import (
    ContactValue,
    CreateUser,
    DeleteUser,
    EnterpriseInfo,
    ListUsers,
    PersonName,
    PostalAddress,
    ReplaceUser,
    RosterRole,
    UserPage,
    UserProfile,
    UserRecord,
    UserReply,
)
from services.users.tests.conftest import UsersHarness

# Long property runs: minutes on PostgreSQL.
pytestmark = pytest.mark.slow

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ROSTER = "urn:roster:params:scim:schemas:extension:roster:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

FILTERS_PER_EXAMPLE = 20  # a query costs a few milliseconds; users cost more to set up
# Each example costs about a second on PostgreSQL; `make test` keeps the suite short and
# ROSTER_PROPERTY_EXAMPLES=200 explores further (README, "Tests").
EXAMPLES = int(os.environ.get("ROSTER_PROPERTY_EXAMPLES", "15"))
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # CI must be reproducible: the same examples every run.
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Few distinct values, in several cases and normal forms, so that filters hit.
# Values that differ only by case, normal form or case folding come twice as often.
CONFUSABLE = ["straße", "STRASSE", "Zoë", "zoe\u0308", "ZOË", "İstanbul", "istanbul", "a_b", "a%b", ""]
TEXTS = [*CONFUSABLE, *CONFUSABLE, "", "Sales", "sales", "Sales West", "10", "9", "ÿ", "Ā", "x\\y"]
EMAILS = ["ann@example.com", "Ann@Example.COM", "bob@example.org", "zoe@example.com", "a_b@x.io"]
TYPES = ["work", "Work", "home", "other", "custom"]

texts = st.sampled_from(TEXTS)


def maybe(strategy: st.SearchStrategy[Any], none: float = 0.5) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy) if none else strategy


def contacts(values: st.SearchStrategy[str], *, max_size: int) -> st.SearchStrategy[tuple[ContactValue, ...]]:
    contact = st.builds(
        ContactValue,
        value=maybe(values),
        type=maybe(st.sampled_from(TYPES)),
        primary=st.booleans(),
        display=maybe(texts),
    )
    return st.lists(contact, max_size=max_size).map(tuple)


addresses = st.lists(
    st.builds(
        PostalAddress,
        locality=maybe(texts),
        country=maybe(st.sampled_from(["US", "us", "DE"])),
        street_address=maybe(texts),
        type=maybe(st.sampled_from(["work", "home"])),
        primary=st.booleans(),
    ),
    max_size=2,
).map(tuple)

enterprise = st.builds(
    EnterpriseInfo,
    employee_number=maybe(st.sampled_from(["E1", "e1", "E2"])),
    cost_center=maybe(texts),
    organization=maybe(texts),
    division=maybe(texts),
    department=maybe(texts),
    manager_ref=maybe(st.sampled_from(["", "boss", "BOSS", "ann@example.com"])),
    manager_uri=maybe(st.just("https://x.example/Users/1"), none=0.8),
    manager_display=maybe(st.sampled_from(["", "Boss"])),
)

profiles = st.builds(
    UserProfile,
    user_name=st.tuples(st.sampled_from(TEXTS[1:] + EMAILS), st.sampled_from(["", "1", "@x.io"])).map(
        "".join
    ),
    external_id=maybe(st.sampled_from(["X1", "x1", "ext-2", ""])),
    display_name=maybe(texts),
    nick_name=maybe(texts),
    profile_url=maybe(st.sampled_from(["https://example.com/ann", "https://EXAMPLE.com/Ann"])),
    title=maybe(texts),
    user_type=maybe(texts),
    preferred_language=maybe(st.sampled_from(["en", "EN", "de"])),
    locale=maybe(st.sampled_from(["en-US", "en-us", "de-DE"])),
    timezone=maybe(st.sampled_from(["Europe/Paris", "europe/paris"])),
    active=st.sampled_from([True, False, None]),
    name=maybe(
        st.builds(
            PersonName,
            given_name=maybe(texts),
            family_name=maybe(texts),
            formatted=maybe(texts),
            honorific_prefix=maybe(st.just("Dr.")),
        )
    ),
    emails=contacts(st.sampled_from(EMAILS), max_size=3),
    phone_numbers=contacts(st.sampled_from(["+1 555 0100", "555-0100"]), max_size=2),
    addresses=addresses,
    enterprise=maybe(enterprise),
    roles=contacts(st.sampled_from(["admin", "Admin", "coach", "auditor"]), max_size=2),
    roster_role=maybe(st.sampled_from(list(RosterRole))),
)


# Filters


def spellings(name: str) -> st.SearchStrategy[str]:
    """Attribute names compare case-insensitively."""
    return st.sampled_from([name, name.lower(), name.upper()])


@dataclass(frozen=True)
class Held:
    """An operand taken from the users of the example, once they exist: ``field`` of user ``index``."""

    field: str  # "id", "userName", "created", "lastModified"
    index: int
    shift: int = 0  # microseconds, for dateTimes
    offset_hours: int = 0  # the zone a dateTime is written in


RECASE = [str.upper, str.lower, str.title]
USER_NAMES = [Held("userName", index) for index in range(7)]
IDS = [Held("id", index) for index in range(7)]
TYPED = {"s": TEXTS, "e": EMAILS, "t": TYPES}  # a value-filter sub-attribute's values, by kind

# (schema URN, attribute, sub-attribute, the values users hold there): operands come mostly from
# those values, so that comparisons hit.
Named = tuple[str | None, str, str | None]
STRING_ATTRIBUTES: list[tuple[str | None, str, str | None, list[Any]]] = [
    (None, "userName", None, USER_NAMES + TEXTS),
    (CORE, "userName", None, USER_NAMES + EMAILS),
    (None, "externalId", None, ["X1", "x1", "ext-2", ""]),
    (None, "id", None, IDS),
    (None, "displayName", None, TEXTS),
    (None, "nickName", None, TEXTS),
    (None, "title", None, TEXTS),
    (None, "userType", None, TEXTS),
    (None, "preferredLanguage", None, ["en", "EN", "de"]),
    (None, "locale", None, ["en-US", "en-us", "de-DE"]),
    (None, "timezone", None, ["Europe/Paris", "europe/paris"]),
    (None, "profileUrl", None, ["https://example.com/ann", "https://EXAMPLE.com/Ann"]),
    (None, "name", "givenName", TEXTS),
    (None, "name", "familyName", TEXTS),
    (None, "name", "formatted", TEXTS),
    (None, "emails", None, EMAILS),
    (None, "emails", "value", EMAILS),
    (None, "emails", "type", TYPES),
    (None, "emails", "display", TEXTS),
    (None, "phoneNumbers", "value", ["+1 555 0100", "555-0100"]),
    (None, "phoneNumbers", "type", TYPES),
    (None, "addresses", "locality", TEXTS),
    (None, "addresses", "country", ["US", "us", "DE"]),
    (None, "roles", None, ["admin", "Admin", "coach", "auditor"]),
    (None, "roles", "value", ["admin", "Admin", "coach", "auditor"]),
    (None, "roles", "type", TYPES),
    (None, "meta", "version", ['W/"1"', 'W/"2"', 'w/"1"']),
    (None, "meta", "resourceType", ["User", "user"]),
    (None, "schemas", None, [CORE, ENTERPRISE, ROSTER]),
    (ENTERPRISE, "employeeNumber", None, ["E1", "e1", "E2"]),
    (ENTERPRISE, "costCenter", None, TEXTS),
    (ENTERPRISE, "organization", None, TEXTS),
    (ENTERPRISE, "division", None, TEXTS),
    (ENTERPRISE, "department", None, TEXTS),
    (ENTERPRISE, "manager", "value", ["", "boss", "BOSS", "ann@example.com"]),
    (ENTERPRISE, "manager", "displayName", ["", "Boss"]),
    (ROSTER, "role", None, ["admin", "COACH", "learner", "manager"]),
]
BOOLEAN_ATTRIBUTES: list[Named] = [
    (None, "active", None),
    (None, "emails", "primary"),
    (None, "phoneNumbers", "primary"),
    (None, "addresses", "primary"),
    (None, "roles", "primary"),
]
DATETIME_ATTRIBUTES: list[Named] = [(None, "meta", "created"), (None, "meta", "lastModified")]
PRESENT_ONLY: list[Named] = [(None, "name", None), (None, "emails", None), (None, "addresses", None)]
PRESENT_ONLY += [(None, "meta", None), (ENTERPRISE, "manager", None), (None, "phoneNumbers", None)]
PRESENT_ONLY += [(None, "roles", None)]
SUB_ATTRIBUTES: dict[str, list[tuple[str, str]]] = {
    "emails": [("value", "e"), ("type", "t"), ("display", "s"), ("primary", "b")],
    "phoneNumbers": [("value", "s"), ("type", "t"), ("primary", "b")],
    "addresses": [("locality", "s"), ("country", "s"), ("streetAddress", "s"), ("type", "t")],
    "roles": [("value", "s"), ("type", "t"), ("primary", "b"), ("display", "s")],
    "schemas": [("value", "u")],
}
SUB_ATTRIBUTES["addresses"].append(("primary", "b"))
TYPED["u"] = [CORE, ENTERPRISE, ROSTER, "urn:other"]
OPERATORS = list(CompareOperator)


def attr_path(uri: str | None, attr: str, sub: str | None) -> st.SearchStrategy[AttrPath]:
    return st.builds(
        AttrPath, attr=spellings(attr), sub_attr=spellings(sub) if sub else st.none(), uri=st.just(uri)
    )


def named(attributes: list[Named]) -> st.SearchStrategy[AttrPath]:
    return st.one_of(*(attr_path(*attribute) for attribute in attributes))


def string_operands(pool: list[Any]) -> st.SearchStrategy[Any]:
    """Values users hold, in another case, or a piece of one; sometimes not a string."""
    texts_only = [value for value in pool if isinstance(value, str)] or ["x"]
    whole = st.sampled_from(pool)
    recased = st.tuples(st.sampled_from(texts_only), st.sampled_from(RECASE)).map(lambda p: p[1](p[0]))
    piece = st.tuples(st.sampled_from(texts_only), st.integers(0, 6), st.integers(0, 6)).map(
        lambda p: p[0][p[1] : len(p[0]) - p[2]]
    )
    other = st.sampled_from(["Sales", "zz", "", 5, True])
    return st.one_of(whole, whole, recased, piece, other)


instants = st.one_of(
    st.just("2026-01-01T00:00:00Z"),
    st.builds(
        Held,
        st.sampled_from(["created", "lastModified"]),
        st.integers(0, 6),
        st.sampled_from([1, -1, 0, 1000]),
        st.sampled_from([2, -5, 0]),
    ),
)
NULL_OPERATORS = st.sampled_from([CompareOperator.eq, CompareOperator.ne, CompareOperator.gt])
EQUALITY = st.sampled_from([CompareOperator.eq, CompareOperator.eq, CompareOperator.ne, CompareOperator.gt])


def comparisons(
    paths: st.SearchStrategy[AttrPath],
    ops: st.SearchStrategy[CompareOperator],
    values: st.SearchStrategy[Any],
) -> st.SearchStrategy[FilterNode]:
    """``attribute op value``, with ``null`` compared mostly by eq and ne."""
    valued = st.tuples(ops, values)
    operations = st.one_of(valued, valued, st.tuples(NULL_OPERATORS, st.none()))
    return st.builds(lambda path, operation: Comparison(path, *operation), paths, operations)


def string_comparisons() -> st.SearchStrategy[FilterNode]:
    return st.one_of(
        *(
            comparisons(attr_path(uri, attr, sub), st.sampled_from(OPERATORS), string_operands(pool))
            for uri, attr, sub, pool in STRING_ATTRIBUTES
        )
    )


def value_paths() -> st.SearchStrategy[FilterNode]:
    def inner(attribute: str) -> st.SearchStrategy[FilterNode]:
        def leaf(sub: tuple[str, str]) -> st.SearchStrategy[FilterNode]:
            path = st.builds(AttrPath, attr=spellings(sub[0]))
            if sub[1] == "b":
                values: st.SearchStrategy[Any] = st.sampled_from([True, False])
                ops = st.sampled_from([CompareOperator.eq, CompareOperator.ne])
            else:
                values, ops = string_operands(TYPED[sub[1]]), st.sampled_from(OPERATORS)
            return st.one_of(comparisons(path, ops, values), st.builds(Present, attr_path=path))

        base = st.one_of(*(leaf(sub) for sub in SUB_ATTRIBUTES[attribute]))
        return st.recursive(base, combinations, max_leaves=3)

    def selection(attribute: str) -> st.SearchStrategy[FilterNode]:
        return st.builds(ValuePath, attr_path=attr_path(None, attribute, None), val_filter=inner(attribute))

    return st.one_of(*(selection(attribute) for attribute in SUB_ATTRIBUTES))


def combinations(children: st.SearchStrategy[FilterNode]) -> st.SearchStrategy[FilterNode]:
    terms = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        st.builds(LogicalExpr, op=st.sampled_from(list(LogicalOperator)), terms=terms),
        st.builds(Not, expr=children),
    )


EVERYTHING = [attribute[:3] for attribute in STRING_ATTRIBUTES]
EVERYTHING += BOOLEAN_ATTRIBUTES + DATETIME_ATTRIBUTES + PRESENT_ONLY
STRING_COMPARISONS = string_comparisons()
LEAVES = st.one_of(
    STRING_COMPARISONS,
    STRING_COMPARISONS,
    comparisons(named(BOOLEAN_ATTRIBUTES), EQUALITY, st.sampled_from([True, False, "true"])),
    comparisons(named(DATETIME_ATTRIBUTES), st.sampled_from(OPERATORS), instants),
    st.builds(Present, attr_path=named(EVERYTHING)),
    st.builds(Present, attr_path=named([attribute[:3] for attribute in STRING_ATTRIBUTES])),
    value_paths(),
)
FILTERS = st.recursive(LEAVES, combinations, max_leaves=5)


def with_values(node: FilterNode, records: list[UserRecord]) -> FilterNode:
    """The filter with its ``Held`` operands replaced by the values the users hold."""
    if isinstance(node, LogicalExpr):
        return replace(node, terms=tuple(with_values(term, records) for term in node.terms))
    if isinstance(node, Not):
        return replace(node, expr=with_values(node.expr, records))
    if isinstance(node, ValuePath):
        return replace(node, val_filter=with_values(node.val_filter, records))
    if isinstance(node, Comparison) and isinstance(node.value, Held):
        return replace(node, value=held(node.value, records))
    return node


def held(value: Held, records: list[UserRecord]) -> str:
    if not records:
        return "nobody"
    record = records[value.index % len(records)]
    if value.field == "id":
        return record.id
    if value.field == "userName":
        return record.profile.user_name
    moment = record.created if value.field == "created" else record.last_modified
    zone = timezone(timedelta(hours=value.offset_hours))
    return (moment + timedelta(microseconds=value.shift)).astimezone(zone).isoformat().replace("+00:00", "Z")


# The oracle


def resource(record: UserRecord) -> ScimUser:
    user = render_user(record, base_url="http://x")
    # The schemas clients read (the dump names every extension the user has), not the object's own.
    user.schemas = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)["schemas"]
    return user


def expected_ids(text: str, resources: list[ScimUser]) -> list[str] | None:
    try:
        scim_filter = ScimFilter[ScimUser](text)
    except InvalidFilterException:
        return None
    return [str(user.id) for user in resources if scim_filter.match(user)]


# Driving the handlers


def populate(harness: UsersHarness, data: st.DataObject, tenant: str) -> list[UserRecord]:
    """Users created, then some replaced or deleted, in creation order."""
    records: list[UserRecord] = []
    for profile in data.draw(st.lists(profiles, min_size=1, max_size=8), label="profiles"):
        reply = harness.ask(CreateUser(user_id=str(uuid4()), profile=profile), tenant=tenant)
        if isinstance(reply, UserReply):  # else a userName already taken, case-insensitively
            records.append(reply.user)
    fates = st.sampled_from(["keep", "keep", "replace", "delete"])
    changes = data.draw(st.lists(fates, min_size=len(records), max_size=len(records)), label="changes")
    kept: list[UserRecord] = []
    for record, change in zip(records, changes, strict=True):
        if change == "delete":
            assert not isinstance(harness.ask(DeleteUser(user_id=record.id), tenant=tenant), CommandRejected)
            continue
        if change == "replace":
            profile = data.draw(profiles, label="replacement")
            reply = harness.ask(ReplaceUser(user_id=record.id, profile=profile), tenant=tenant)
            record = reply.user if isinstance(reply, UserReply) else record
        kept.append(record)
    return kept


@PROPERTY_SETTINGS
@given(data=st.data())
def test_filters_select_what_scim2_models_selects(harness: UsersHarness, data: st.DataObject) -> None:
    tenant = uuid4().hex
    records = populate(harness, data, tenant)
    resources = [resource(record) for record in records]
    for _ in range(FILTERS_PER_EXAMPLE):
        text = str(with_values(data.draw(FILTERS, label="filter"), records))
        expected = expected_ids(text, resources)
        reply = harness.ask(ListUsers(filter=text, count=1000), tenant=tenant)
        outcome = "all" if expected is not None and len(expected) == len(records) else "some"
        event("refused" if expected is None else "none" if not expected else outcome)
        if expected is None:
            assert isinstance(reply, CommandRejected), (text, reply)
            assert reply.reason == RejectionReason.INVALID_FILTER
            continue
        assert isinstance(reply, UserPage), (text, reply)
        assert [user.id for user in reply.users] == expected, text
        assert reply.total_results == len(expected)


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
