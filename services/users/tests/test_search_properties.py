"""Property tests: filters evaluated in the database agree with scim2-models in memory.

Random users go in through the real handlers (created, some replaced, some deleted; ``random_users.py``);
random filters built from the RFC 7644 grammar over every supported attribute go to ``ListUsers``. The
oracle is ``ScimFilter[ScimUser](text).match(resource)`` on the resource clients read
(``contracts.rendering.render_user``). A filter the oracle refuses must be refused (invalidFilter); one
it accepts must select the same users, in creation order. Each example uses a fresh tenant, on SQLite
and on PostgreSQL. sortBy's property test is in ``test_search_sorting_properties.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from scim2_models import InvalidFilterException, ScimFilter
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
from contracts.replies import CommandRejected
from contracts.scim import ScimUser
from contracts.users import ListUsers, UserPage, UserRecord
from services.users.tests.conftest import UsersHarness
from services.users.tests.random_users import (
    CORE,
    EMAILS,
    ENTERPRISE,
    PROPERTY_SETTINGS,
    ROSTER,
    TEXTS,
    TYPES,
    populate,
    resource,
    spellings,
)

# Long property runs: minutes on PostgreSQL.
pytestmark = pytest.mark.slow

FILTERS_PER_EXAMPLE = 20  # a query costs a few milliseconds; users cost more to set up


# Filters


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


def expected_ids(text: str, resources: list[ScimUser]) -> list[str] | None:
    try:
        scim_filter = ScimFilter[ScimUser](text)
    except InvalidFilterException:
        return None
    return [str(user.id) for user in resources if scim_filter.match(user)]


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
