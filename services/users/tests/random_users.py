"""The random users the search's property tests create (``test_search_properties.py`` for filters,
``test_search_sorting_properties.py`` for sortBy): their profiles, the attribute names' spellings, how
they go in through the real handlers (``populate``), the resource clients read of each (``resource``,
the oracle's input), and the Hypothesis settings both tests run with.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from scim2_models import Context

from contracts.rendering import render_user
from contracts.replies import CommandRejected
from contracts.scim import ScimUser
from contracts.users import (
    ContactValue,
    CreateUser,
    DeleteUser,
    EnterpriseInfo,
    PersonName,
    PostalAddress,
    ReplaceUser,
    RosterRole,
    UserProfile,
    UserRecord,
    UserReply,
)
from services.users.tests.conftest import UsersHarness

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ROSTER = "urn:roster:params:scim:schemas:extension:roster:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

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


def spellings(name: str) -> st.SearchStrategy[str]:
    """Attribute names compare case-insensitively."""
    return st.sampled_from([name, name.lower(), name.upper()])


# The oracle


def resource(record: UserRecord) -> ScimUser:
    user = render_user(record, base_url="http://x")
    # The schemas clients read (the dump names every extension the user has), not the object's own.
    user.schemas = user.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)["schemas"]
    return user


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
