"""Filters by userName or group name compare as SCIM compares those names (caseExact false: letter
case and Unicode normalisation do not matter), also on entries stored before the name keys existed
(schema revision 0002), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

from sqlalchemy import Engine, text

from contracts import seats, users
from contracts.activity import Outcome
from contracts.sources import ChangeSource
from contracts.teams import TeamCreated, TeamDeleted, TeamSource
from contracts.topics import GATEWAY_OUTCOMES, TEAMS_EVENTS
from servicekit import migrations
from services.activity.domain import name_key
from services.activity.migrations.v0002_name_keys import key_of
from services.activity.schema import SCHEMA
from services.activity.tests.activity_helpers import (
    T0,
    at_minute,
    deliver,
    read_page,
    refused_create,
    user_created,
)

DECOMPOSED = "Jo\u0308rg@example.com"  # "Jörg" spelt with a combining diaeresis
COMPOSED_LOWER = "j\u00f6rg@example.com"


def test_a_user_is_found_by_userName_in_any_letter_case_and_shown_as_spelt(engine: Engine) -> None:
    deliver(engine, at_minute(user_created("u1", "Ann.Lee@Example.com"), 1))
    deliver(engine, at_minute(users.UserDeactivated(user_id="u1"), 2))  # names only the id
    refused = refused_create("ANN.LEE@example.COM")  # Okta retrying with another spelling
    deliver(engine, at_minute(refused, 3, producer="gateway"), GATEWAY_OUTCOMES)
    deliver(engine, at_minute(user_created("u2", "bob@example.com"), 4))
    for spelling in ("ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "Ann.Lee@Example.com"):
        found = read_page(engine, user=spelling).entries
        assert [(e.summary, e.name) for e in found] == [
            ("POST User", "ANN.LEE@example.COM"),
            ("UserDeactivated", "Ann.Lee@Example.com"),
            ("UserCreated", "Ann.Lee@Example.com"),
        ]
    assert read_page(engine, user="ann.lee@example.org").entries == ()


def test_a_name_is_found_whether_its_accents_are_composed_or_not(engine: Engine) -> None:
    deliver(engine, at_minute(user_created("u1", DECOMPOSED), 1))
    deliver(engine, at_minute(seats.SeatReleased(user_id="u1", used=0, limit=5), 2, producer="seats"))
    found = read_page(engine, user=COMPOSED_LOWER).entries
    assert [(e.summary, e.name) for e in found] == [("SeatReleased", DECOMPOSED), ("UserCreated", DECOMPOSED)]


def test_a_team_is_found_by_its_name_in_any_letter_case(engine: Engine) -> None:
    created = TeamCreated(
        team_id="t1", display_name="Sales West", team_source=TeamSource.SCIM, source=ChangeSource.SCIM
    )
    deliver(engine, at_minute(created, 1, producer="teams"), TEAMS_EVENTS)
    deliver(
        engine,
        at_minute(TeamDeleted(team_id="t1", source=ChangeSource.SCIM), 2, producer="teams"),
        TEAMS_EVENTS,
    )
    found = read_page(engine, team="SALES west").entries
    assert [(e.summary, e.outcome, e.name) for e in found] == [
        ("TeamDeleted", Outcome.DELETED, "Sales West"),
        ("TeamCreated", Outcome.CREATED, "Sales West"),
    ]
    assert read_page(engine, user="sales west").entries == ()  # a team's name is not a user's


def _store_as_revision_0001(
    engine: Engine, *, entry_id: str, minute: int, resource_id: str, name: str
) -> None:
    """An entry and its known name as revision 0001 stored them, without keys."""
    occurred_at = T0 + timedelta(minutes=minute)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO activity (entry_id, tenant, occurred_at, kind, outcome, summary, correlation_id,"
                " resource_type, resource_id, name) VALUES (:entry_id, 'acme', :occurred_at, 'event',"
                " 'created', 'UserCreated', :entry_id, 'User', :resource_id, :name)"
            ),
            {"entry_id": entry_id, "occurred_at": occurred_at, "resource_id": resource_id, "name": name},
        )
        connection.execute(
            text(
                "INSERT INTO activity_names (tenant, resource_id, resource_type, name, seen_at)"
                " VALUES ('acme', :resource_id, 'User', :name, :seen_at)"
            ),
            {"resource_id": resource_id, "name": name, "seen_at": occurred_at},
        )


def test_entries_stored_before_revision_0002_are_found_in_any_letter_case_after_it(engine: Engine) -> None:
    migrations.downgrade(engine, SCHEMA, "0001")
    created = [str(uuid4()), str(uuid4())]
    _store_as_revision_0001(engine, entry_id=created[0], minute=1, resource_id="u1", name="Ann@Example.com")
    _store_as_revision_0001(engine, entry_id=created[1], minute=2, resource_id="u2", name=DECOMPOSED)
    migrations.upgrade(engine, SCHEMA)
    deliver(engine, at_minute(users.UserDeactivated(user_id="u1"), 3))  # named through its known name
    ann = read_page(engine, user="ANN@example.com").entries
    assert [(e.summary, e.name) for e in ann] == [
        ("UserDeactivated", "Ann@Example.com"),
        ("UserCreated", "Ann@Example.com"),
    ]
    assert [e.entry_id for e in read_page(engine, user=COMPOSED_LOWER).entries] == [created[1]]


def test_the_revision_writes_the_key_the_service_compares_by() -> None:
    for name in ("Ann@Example.com", DECOMPOSED, "\u0130stanbul", "Stra\u00dfe", "J\u030cohn"):
        assert key_of(name) == name_key(name)
