"""The activity log's pure rules: outcomes, clients, what an event is about, cursors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from contracts import seats, teams, users
from contracts.activity import ClientKind, EntryKind, Outcome, RequestOutcome, client_kind
from contracts.envelope import wrap
from contracts.sources import ChangeSource
from services.activity import domain


@pytest.mark.parametrize(
    "agent, kind",
    [
        ("Okta SCIM Client 1.0.0", ClientKind.OKTA),
        ("Microsoft.Identity.Provisioning.Scim/2.0", ClientKind.ENTRA),
        ("Microsoft Azure AD SCIM Client", ClientKind.ENTRA),
        ("curl/8.5.0", ClientKind.OTHER),
        ("", ClientKind.OTHER),
    ],
)
def test_the_client_is_told_by_its_user_agent(agent: str, kind: ClientKind) -> None:
    assert client_kind(agent) is kind


@pytest.mark.parametrize(
    "method, status, outcome",
    [
        ("POST", 201, Outcome.CREATED),
        ("PUT", 200, Outcome.UPDATED),
        ("PATCH", 200, Outcome.UPDATED),
        ("PATCH", 204, Outcome.UPDATED),
        ("DELETE", 204, Outcome.DELETED),
        ("GET", 200, Outcome.READ),
        ("GET", 304, Outcome.READ),
        ("POST", 200, Outcome.READ),
        ("POST", 403, Outcome.REFUSED),
        ("POST", 409, Outcome.REFUSED),
        ("GET", 404, Outcome.REFUSED),
        ("PATCH", 503, Outcome.FAILED),
        ("POST", 500, Outcome.FAILED),
    ],
)
def test_a_request_outcome_follows_its_method_and_status(method: str, status: int, outcome: Outcome) -> None:
    assert domain.request_outcome(method=method, status=status) is outcome


def test_a_refused_request_keeps_what_the_client_was_told() -> None:
    outcome = RequestOutcome(
        client=ClientKind.OKTA,
        method="POST",
        resource_type="User",
        name="ann@example.com",
        status=403,
        detail="Seat limit reached: 1 of 1 seats in use.",
        duration_ms=12.5,
    )
    envelope = wrap(outcome, tenant="acme", producer="gateway")
    entry = domain.from_request(envelope, outcome)
    assert entry.kind is EntryKind.REQUEST and entry.outcome is Outcome.REFUSED
    assert (entry.status, entry.detail, entry.name) == (
        403,
        "Seat limit reached: 1 of 1 seats in use.",
        "ann@example.com",
    )
    assert entry.correlation_id == str(envelope.correlation_id) and entry.summary == "POST User"


def test_events_are_about_their_user_or_team() -> None:
    deactivated = domain.from_event(
        wrap(users.UserDeactivated(user_id="u1"), tenant="t", producer="users"),
        users.UserDeactivated(user_id="u1"),
    )
    assert (deactivated.outcome, deactivated.resource_type, deactivated.resource_id) == (
        Outcome.DEACTIVATED,
        "User",
        "u1",
    )
    denied_event = seats.SeatDenied(user_id="u2", used=1, limit=1)
    denied = domain.from_event(wrap(denied_event, tenant="t", producer="seats"), denied_event)
    assert (denied.outcome, denied.resource_id) == (Outcome.REFUSED, "u2")
    renamed_event = teams.TeamRenamed(
        team_id="g1", previous_name="A", display_name="B", source=ChangeSource.SCIM
    )
    renamed = domain.from_event(wrap(renamed_event, tenant="t", producer="teams"), renamed_event)
    assert (renamed.resource_type, renamed.resource_id, renamed.name) == ("Group", "g1", "B")
    limit_event = seats.SeatLimitChanged(used=1, limit=5)
    limit = domain.from_event(wrap(limit_event, tenant="t", producer="seats"), limit_event)
    assert (limit.outcome, limit.resource_type, limit.summary) == (Outcome.UPDATED, None, "SeatLimitChanged")


def test_a_cursor_reads_back_and_a_forged_one_is_refused() -> None:
    moment = datetime(2026, 3, 2, 9, 30, 1, 250, tzinfo=UTC)
    entry_id = "0b9e7a52-4c1d-4f6e-9a38-2d5b7c1e8f40"
    assert domain.parse_cursor(domain.cursor(moment, entry_id)) == (moment, entry_id)
    far = base64.urlsafe_b64encode(f"0001-01-01T00:00:00+01:00|{entry_id}".encode()).decode()
    for forged in ("not a cursor", "Zm9v", "", domain.cursor(moment, "not-an-id"), far):
        with pytest.raises(domain.BadCursor):
            domain.parse_cursor(forged)
