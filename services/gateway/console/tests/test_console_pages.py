"""Console pages and forms on the real gateway app and database, with Kafka unreachable: the gateway's
own data (tenants, tokens) in full, and every form's refusal of a bad value, shown on the page, with
nothing changed."""

from __future__ import annotations

import html
import re

import pytest
from sqlmodel import Session

from services.gateway import store
from services.gateway.console.tests.conftest import Console, csrf_of, signed_in


def _alert(page: str) -> str:
    found = re.search(r'role="alert">([^<]*)<', page)
    assert found, page
    return html.unescape(found.group(1))


def test_tenants_show_name_active_tokens_and_seats_and_activity_unavailable_while_their_services_are_down(
    console: Console,
) -> None:
    client, _ = signed_in(console)
    page = client.get("/console/tenants")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    row = page.text[page.text.index("Initech") :]
    assert row[: row.index("</tr>")].count("unavailable") == 2
    assert re.search(r"<td>1</td>", row[: row.index("</tr>")])


def test_a_new_token_is_shown_once_and_works_then_revoked_alone(console: Console) -> None:
    client, csrf = signed_in(console)
    path = f"/console/tenants/{console.tenant_id}/tokens"
    issued = client.post(f"{path}/issue", data={"csrf_token": csrf})
    assert issued.status_code == 200
    new_token = re.search(r'id="new-token">(rst_[^<]+)<', issued.text)
    assert new_token
    with Session(console.engine) as session:
        assert store.tenant_for_token(session, token=new_token.group(1)) == console.tenant_id
    first, second = console.active_tokens()
    again = client.get(path).text
    assert new_token.group(1) not in again and f"Revoke #{second}" in again

    revoked = client.post(f"{path}/revoke", data={"csrf_token": csrf, "token_id": str(first)})
    assert (revoked.status_code, revoked.headers["location"]) == (303, f"{path}?notice=revoked")
    assert console.active_tokens() == [second]
    with Session(console.engine) as session:
        assert store.tenant_for_token(session, token=console.scim_token) is None
    assert "Token revoked." in client.get(revoked.headers["location"]).text


def test_rotate_leaves_only_the_new_token_and_revoke_all_leaves_none(console: Console) -> None:
    client, csrf = signed_in(console)
    path = f"/console/tenants/{console.tenant_id}/tokens"
    rotated = client.post(f"{path}/rotate", data={"csrf_token": csrf})
    assert rotated.status_code == 200 and "Every other token is revoked" in rotated.text
    [only] = console.active_tokens()
    assert f"Revoke #{only}" in rotated.text
    assert client.post(f"{path}/revoke-all", data={"csrf_token": csrf}).status_code == 303
    assert console.active_tokens() == []
    assert "No active token" in client.get(path).text


@pytest.mark.parametrize(
    ("token_id", "status", "reason"),
    [
        ("", 400, "Token: Field required."),
        ("abc", 400, "Token: enter the number of an active token."),
        ("0", 400, "Token: enter the number of an active token."),
        ("999", 404, "has no active token with id 999"),
        (str(2**31), 404, f"has no active token with id {2**31}"),  # beyond the column's INTEGER
        (str(2**63), 404, f"has no active token with id {2**63}"),
        ("9" * 400, 404, "has no active token with id 999"),
    ],
)
def test_revoking_a_token_that_is_not_one_changes_nothing(
    console: Console, token_id: str, status: int, reason: str
) -> None:
    client, csrf = signed_in(console)
    answer = client.post(
        f"/console/tenants/{console.tenant_id}/tokens/revoke", data={"csrf_token": csrf, "token_id": token_id}
    )
    assert answer.status_code == status
    assert reason in _alert(answer.text)
    assert len(console.active_tokens()) == 1


@pytest.mark.parametrize(
    ("limit", "reason"),
    [
        ("", "Seat limit: Field required."),
        ("-1", "Seat limit: enter a whole number from 0 to 1,000,000."),
        ("many", "Seat limit: enter a whole number from 0 to 1,000,000."),
        ("2.5", "Seat limit: enter a whole number from 0 to 1,000,000."),
        ("1000001", "Seat limit: enter a whole number from 0 to 1,000,000."),
    ],
)
def test_a_bad_seat_limit_is_refused_on_the_page_before_any_service_is_asked(
    console: Console, limit: str, reason: str
) -> None:
    client, csrf = signed_in(console)
    answer = client.post(
        f"/console/tenants/{console.tenant_id}/seats", data={"csrf_token": csrf, "limit": limit}
    )
    assert answer.status_code == 400
    assert _alert(answer.text).startswith(reason)
    assert 'name="limit"' in answer.text  # the form is still there to correct


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"action": "choose"}, "Form: choose a user to make default manager."),
        ({"action": "promote", "user_id": "u1"}, "Action: Input should be 'choose' or 'clear'."),
        ({}, "Action: Field required."),
        (
            {"action": "choose", "user_id": "u\x001"},
            "User: contains a NUL character, which Roster cannot store.",
        ),
    ],
)
def test_a_bad_default_manager_form_is_refused_on_the_page(
    console: Console, data: dict[str, str], reason: str
) -> None:
    client, csrf = signed_in(console)
    answer = client.post(
        f"/console/tenants/{console.tenant_id}/default-manager", data={"csrf_token": csrf, **data}
    )
    assert answer.status_code == 400
    assert _alert(answer.text) == reason
    assert "The users service did not answer" in answer.text


def test_a_search_too_long_is_refused_on_the_page(console: Console) -> None:
    client, _ = signed_in(console)
    answer = client.get(f"/console/tenants/{console.tenant_id}/users", params={"q": "x" * 201})
    assert answer.status_code == 400
    assert _alert(answer.text) == "Search: String should have at most 200 characters."


def test_pages_that_need_a_service_say_it_did_not_answer(console: Console) -> None:
    client, _ = signed_in(console)
    for page in ("users", "teams", "org", "activity"):
        answer = client.get(f"/console/tenants/{console.tenant_id}/{page}")
        assert answer.status_code == 503, page
        assert "did not answer in time" in _alert(answer.text)
    seats = client.get(f"/console/tenants/{console.tenant_id}/seats")
    assert seats.status_code == 200 and "unavailable" in seats.text


def test_an_unknown_tenant_is_a_404_page(console: Console) -> None:
    client, csrf = signed_in(console)
    for page in ("users", "teams", "org", "default-manager", "seats", "tokens", "activity"):
        answer = client.get(f"/console/tenants/nope/{page}")
        assert answer.status_code == 404, page
        assert _alert(answer.text) == "no tenant with id 'nope'"
    answer = client.post("/console/tenants/nope/tokens/issue", data={"csrf_token": csrf})
    assert answer.status_code == 404 and answer.headers["content-type"].startswith("text/html")
    assert csrf_of(answer.text) == csrf  # still signed in: the page offers sign-out


@pytest.mark.parametrize(
    "filters, reason",
    [
        (
            {"outcome": "exploded"},
            "Outcome: Input should be 'created', 'updated', 'deactivated', 'deleted',"
            " 'read', 'refused' or 'failed'.",
        ),
        (
            {"since": "yesterday"},
            "Since: enter a time such as 2026-03-02T09:30:00Z, or a date such as 2026-03-02.",
        ),
        (
            {"since": "2026-03-02T10:00", "until": "2026-03-02T09:00"},
            "Until: until must be later than since.",
        ),
        ({"user": "u" * 513}, "User: String should have at most 512 characters."),
        ({"user": "ann@example.com", "team": "Sales"}, "Team: filter by user or by team, not both."),
        ({"request_id": "r" * 129}, "Request id: String should have at most 128 characters."),
    ],
)
def test_bad_activity_filters_are_refused_on_the_page_and_keep_what_was_typed(
    console: Console, filters: dict[str, str], reason: str
) -> None:
    client, _ = signed_in(console)
    answer = client.get(f"/console/tenants/{console.tenant_id}/activity", params=filters)
    assert answer.status_code == 400
    assert _alert(answer.text) == reason
    for value in filters.values():
        assert (
            f'value="{value}"' in answer.text
            or f'value="{value}" selected' in answer.text
            or "exploded" in value
        )
    assert "<table" not in answer.text  # nothing was asked of the activity service


@pytest.mark.parametrize("signed", [False, True])
def test_a_console_path_no_page_serves_is_answered_with_a_console_page(
    console: Console, signed: bool
) -> None:
    client = signed_in(console)[0] if signed else console.client()
    for path in (f"/console/tenants/{console.tenant_id}/nope", "/console/nope", "/console/static/nope.css"):
        missing = client.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html"), path
        assert _alert(missing.text) == "There is no such page in the console."
        assert "<h1>No such page</h1>" in missing.text
    wrong = client.put("/console/sign-in")
    assert wrong.status_code == 405 and wrong.headers["content-type"].startswith("text/html")
    assert wrong.headers["allow"] == "GET, HEAD, POST"
    assert _alert(wrong.text) == "PUT is not allowed on this path; use GET, HEAD, POST."
    malformed = client.get(f"/console/tenants/{console.tenant_id}/users", params={"start": "abc"})
    if signed:  # else the sign-in page first
        assert malformed.status_code == 400 and malformed.headers["content-type"].startswith("text/html")
        assert _alert(malformed.text).startswith("Invalid request parameter query.start: ")
    elsewhere = client.get("/scim/v2/nope")
    assert elsewhere.status_code == 404 and elsewhere.headers["content-type"].startswith(
        "application/scim+json"
    )
