"""Activity handlers through the real message processor, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts import seats, users
from contracts.activity import ListActivity, Outcome
from contracts.registry import payload_of
from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.topics import GATEWAY_OUTCOMES
from servicekit.clock import as_utc
from services.activity import handlers, store
from services.activity.tests.activity_helpers import (
    T0,
    ask,
    at_minute,
    deliver,
    read_page,
    refused_create,
    user_created,
    user_request,
)


def test_an_event_delivered_twice_is_recorded_once(engine: Engine) -> None:
    envelope = at_minute(user_created("u1", "ann@example.com"), 1)
    deliver(engine, envelope)
    deliver(engine, envelope)  # redelivered after a crash before the offset was committed
    with Session(engine) as session:
        assert store.count(session, tenant="acme") == 1
    [entry] = read_page(engine).entries
    assert (entry.outcome, entry.name, entry.resource_id) == (Outcome.CREATED, "ann@example.com", "u1")


def test_a_refused_create_keeps_the_detail_and_is_found_by_outcome_and_correlation(engine: Engine) -> None:
    refused = at_minute(refused_create("bob@example.com"), 2, producer="gateway")
    deliver(engine, refused, GATEWAY_OUTCOMES)
    deliver(engine, at_minute(user_created("u1", "ann@example.com"), 1))
    [entry] = read_page(engine, outcome="refused").entries
    assert (entry.status, entry.detail, entry.client) == (
        403,
        "Seat limit reached: 1 of 1 seats in use.",
        "okta",
    )
    [same] = read_page(engine, correlation_id=str(refused.correlation_id)).entries
    assert same.entry_id == str(refused.message_id)
    assert read_page(engine, tenant="globex").entries == ()  # another tenant sees none of it


def test_a_user_is_found_by_id_or_userName_even_where_an_event_names_only_the_id(engine: Engine) -> None:
    deliver(engine, at_minute(user_created("u1", "ann@example.com"), 1))
    deliver(engine, at_minute(users.UserDeactivated(user_id="u1"), 2))
    deliver(engine, at_minute(seats.SeatReleased(user_id="u1", used=0, limit=5), 3, producer="seats"))
    deliver(engine, at_minute(user_created("u2", "bob@example.com"), 4))
    by_name = read_page(engine, user="ann@example.com").entries
    assert [e.summary for e in by_name] == ["SeatReleased", "UserDeactivated", "UserCreated"]
    assert all(e.name == "ann@example.com" for e in by_name)
    assert [e.summary for e in read_page(engine, user="u1").entries] == [e.summary for e in by_name]
    assert [e.outcome for e in read_page(engine, outcome="deactivated").entries] == [Outcome.DEACTIVATED]


def test_a_refused_request_on_a_user_does_not_rename_the_users_entries(engine: Engine) -> None:
    """A rename refused as taken names another user's userName, and a PUT of an id the tenant does not
    have names whatever was sent: neither is the name the id goes by."""
    deliver(engine, at_minute(user_created("u1", "ann@example.com"), 1))
    deliver(engine, at_minute(user_created("u2", "bob@example.com"), 2))
    refused = [
        user_request("PUT", "u1", "bob@example.com", 409),  # a rename onto bob's userName
        user_request("PUT", "nobody", "hijack@example.com", 404),
    ]
    for minute, outcome in enumerate(refused, start=3):
        deliver(engine, at_minute(outcome, minute, producer="gateway"), GATEWAY_OUTCOMES)
    deliver(engine, at_minute(users.UserDeactivated(user_id="u1"), 5))
    deliver(
        engine, at_minute(user_request("GET", "nobody", None, 404), 6, producer="gateway"), GATEWAY_OUTCOMES
    )
    [deactivated] = read_page(engine, outcome="deactivated").entries
    assert deactivated.name == "ann@example.com"
    ann = read_page(engine, user="ann@example.com").entries  # her id's entries, the refused rename too
    assert [(e.summary, e.name) for e in ann] == [
        ("UserDeactivated", "ann@example.com"),
        ("PUT User", "bob@example.com"),
        ("UserCreated", "ann@example.com"),
    ]
    bob = read_page(engine, user="bob@example.com").entries  # the refused request named bob; u1's others not
    assert [(e.resource_id, e.status) for e in bob] == [("u1", 409), ("u2", None)]
    [lookup] = read_page(engine, user="nobody", outcome="refused").entries[:1]
    assert (lookup.method, lookup.name) == ("GET", None)
    # An accepted rename does rename: the id's later entries go by the new name.
    deliver(
        engine,
        at_minute(user_request("PUT", "u1", "ann.new@example.com", 200), 7, producer="gateway"),
        GATEWAY_OUTCOMES,
    )
    deliver(engine, at_minute(users.UserDeactivated(user_id="u1"), 8))
    assert read_page(engine, outcome="deactivated").entries[0].name == "ann.new@example.com"


def test_pages_run_newest_first_without_gaps_or_repeats_within_a_time_range(engine: Engine) -> None:
    for minute in range(25):
        deliver(engine, at_minute(user_created(f"u{minute}", f"user{minute}@example.com"), minute))
    seen: list[str] = []
    after: str | None = None
    while True:
        page = read_page(
            engine, limit=7, after=after, since=T0 + timedelta(minutes=3), until=T0 + timedelta(minutes=23)
        )
        seen += [e.resource_id or "" for e in page.entries]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == [f"u{minute}" for minute in range(22, 2, -1)]


def test_a_forged_cursor_is_refused_as_an_invalid_value(engine: Engine) -> None:
    reply = ask(engine, ListActivity(after="forged"))
    assert isinstance(reply, CommandRejected) and reply.reason is RejectionReason.INVALID_VALUE


def test_the_purge_removes_entries_past_their_retention_in_batches(engine: Engine) -> None:
    for minute in range(5):
        deliver(engine, at_minute(user_created(f"u{minute}", f"user{minute}@example.com"), minute))
    cutoff = T0 + timedelta(minutes=3)
    with Session(engine) as session, session.begin():
        assert store.purge(session, before=cutoff, batch=2) == 2
    with Session(engine) as session, session.begin():
        assert store.purge(session, before=cutoff, batch=2) == 1
        assert store.purge(session, before=cutoff, batch=2) == 0
    assert [e.resource_id for e in read_page(engine).entries] == ["u4", "u3"]
    with Session(engine) as session:  # what roster_activity_oldest_entry_age_seconds is read from
        oldest = store.oldest_entry(session)
    assert oldest is not None and as_utc(oldest) == cutoff


def test_a_user_is_paged_newest_first_across_its_id_and_its_name(engine: Engine) -> None:
    deliver(engine, at_minute(refused_create("ann@example.com"), 1, producer="gateway"), GATEWAY_OUTCOMES)
    deliver(engine, at_minute(user_created("u1", "ann@example.com"), 2))
    deliver(engine, at_minute(user_created("u2", "bob@example.com"), 3))
    deliver(engine, at_minute(users.UserDeactivated(user_id="u1"), 4))
    seen: list[str] = []
    after: str | None = None
    while True:
        page = read_page(engine, user="ann@example.com", limit=1, after=after)
        seen += [e.summary for e in page.entries]
        if page.next_cursor is None:
            break
        after = page.next_cursor
    assert seen == ["UserDeactivated", "UserCreated", "POST User"]
    assert [e.summary for e in read_page(engine, user="ann@example.com", outcome="refused").entries] == [
        "POST User"
    ]
    assert read_page(engine, user="ann@example.com", team="ann@example.com").entries == ()


def test_a_name_seen_late_from_before_a_rename_does_not_replace_the_newer_name(engine: Engine) -> None:
    """Events of one user arrive out of order across topics: the newest name wins, whatever came last."""
    deliver(engine, at_minute(user_created("u1", "ann@example.com"), 1))
    renamed = user_created("u1", "anne@example.com").user
    deliver(engine, at_minute(users.UserUpdated(user=renamed), 3))
    earlier = refused_create("ann@example.com").model_copy(update={"resource_id": "u1"})
    deliver(engine, at_minute(earlier, 2, producer="gateway"), GATEWAY_OUTCOMES)  # from before the rename
    deliver(engine, at_minute(users.UserDeactivated(user_id="u1"), 4))
    [deactivated] = read_page(engine, outcome="deactivated").entries
    assert deactivated.name == "anne@example.com"
    assert read_page(engine, user="anne@example.com").entries[0].summary == "UserDeactivated"


def test_an_event_that_came_before_its_name_is_named_when_the_name_arrives(engine: Engine) -> None:
    denied = seats.SeatDenied(user_id="u9", used=1, limit=1)
    deliver(engine, at_minute(denied, 1, producer="seats"))
    refused = refused_create("late@example.com").model_copy(update={"resource_id": "u9"})
    deliver(engine, at_minute(refused, 1, producer="gateway"), GATEWAY_OUTCOMES)
    entries = read_page(engine, user="late@example.com").entries
    assert sorted((e.summary, e.name) for e in entries) == [
        ("POST User", "late@example.com"),
        ("SeatDenied", "late@example.com"),
    ]


def test_an_event_recorded_while_its_name_is_recorded_alongside_is_shown_with_the_name(
    engine: Engine,
) -> None:
    """Two consumers' transactions crossing on PostgreSQL: the seat denial is recorded (name unknown
    yet) while the refused request's outcome names the user and commits first; neither transaction
    sees the other's row, so the denial stays unnamed in its table, and is named when read."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: the second transaction waits for the first")
    refused = refused_create("crossed@example.com").model_copy(update={"resource_id": "u7"})
    with Session(engine) as denial, denial.begin():
        denied = at_minute(seats.SeatDenied(user_id="u7", used=1, limit=1), 1, producer="seats")
        handlers.record_event(denial, denied, payload_of(denied))
        with Session(engine) as outcome, outcome.begin():
            handlers.record_outcome(outcome, at_minute(refused, 1, producer="gateway"), refused)
    with Session(engine) as session:
        stored = session.exec(
            select(store.ActivityRow).where(store.ActivityRow.summary == "SeatDenied")
        ).one()
        assert stored.name is None  # the crossing happened: the table alone does not name it
    entries = read_page(engine, user="crossed@example.com").entries
    assert sorted((e.summary, e.name) for e in entries) == [
        ("POST User", "crossed@example.com"),
        ("SeatDenied", "crossed@example.com"),
    ]
    [denial_entry] = read_page(engine, correlation_id=str(denied.correlation_id)).entries
    assert denial_entry.name == "crossed@example.com"


def test_a_request_id_finds_its_request_and_everything_it_caused(engine: Engine) -> None:
    """The Request id an identity provider was shown (a 5xx detail's) leads to the request's entry and,
    through its correlation id, to the events it caused; a client may reuse a request id, so each
    request answered with it counts."""
    asked = at_minute(
        refused_create("ann@example.com").model_copy(update={"request_id": "okta-1"}), 2, producer="gateway"
    )
    caused = at_minute(seats.SeatDenied(user_id="u1", used=1, limit=1), 1, producer="seats")
    caused = caused.model_copy(update={"correlation_id": asked.correlation_id})
    deliver(engine, asked, GATEWAY_OUTCOMES)
    deliver(engine, caused)
    other = at_minute(
        refused_create("bob@example.com").model_copy(update={"request_id": "okta-2"}), 3, producer="gateway"
    )
    deliver(engine, other, GATEWAY_OUTCOMES)
    found = read_page(engine, request_id="okta-1").entries
    assert [(e.summary, e.request_id) for e in found] == [("POST User", "okta-1"), ("SeatDenied", None)]
    assert read_page(engine, request_id="okta-1", tenant="globex").entries == ()
    assert read_page(engine, request_id="never-sent").entries == ()
    again = at_minute(
        refused_create("ann@example.com").model_copy(update={"request_id": "okta-1"}), 4, producer="gateway"
    )
    deliver(engine, again, GATEWAY_OUTCOMES)  # Okta retried with the same request id
    assert len(read_page(engine, request_id="okta-1").entries) == 3
