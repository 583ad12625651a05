"""Dead letters on the running stack, through ``roster-admin dlq``: a create that failed while the users
database refused it lands on users.commands.v1.dlq, is listed with its error, and once the cause is
gone a replay creates the user exactly once; a poison message is discarded and leaves the default
list; ids that name nothing are 404 (exit code 3)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from contracts.envelope import wrap
from contracts.topics import USERS_COMMANDS
from contracts.users import CreateUser, UserProfile
from roster_cli.app import app
from roster_cli.errors import ExitCode
from servicekit.db import make_engine
from tests.kafka_client import producer
from tests.okta import user_body
from tests.stack import Stack, Tenant, seats_used

pytestmark = pytest.mark.slow


def _dlq(stack: Stack, *args: str) -> Result:
    url = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    env = {"COLUMNS": "250", "ROSTER_ADMIN_URL": None, "ROSTER_ADMIN_TOKEN": None}
    return CliRunner().invoke(
        app, ["--url", url, "--token", stack.admin_token, "--json", "dlq", *args], env=env
    )


def _document(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _tenant_letters(stack: Stack, tenant: Tenant, *options: str) -> list[dict[str, Any]]:
    letters: list[dict[str, Any]] = _document(_dlq(stack, "list", "--tenant", tenant.id, *options))[
        "dead_letters"
    ]
    return letters


def _listed_soon(stack: Stack, tenant: Tenant, *, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while not (letters := _tenant_letters(stack, tenant)) and time.monotonic() < deadline:
        time.sleep(0.3)
    [letter] = letters
    return letter


@pytest.fixture
def users_database_refuses(stack: Stack, tenant: Tenant) -> Iterator[None]:
    """The users database refuses to park this tenant's creates (a trigger raising), as a database in
    trouble would; every other tenant is unaffected. Removed when the test ends (``refusing_stops``)."""
    engine = make_engine(stack.users_database_url)
    function = f"refuse_{tenant.id}"
    with engine.begin() as connection:
        connection.execute(
            text(
                f"CREATE FUNCTION {function}() RETURNS trigger AS $$ BEGIN"
                f" IF NEW.tenant = '{tenant.id}' THEN RAISE EXCEPTION 'disk full (test)'; END IF;"
                " RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                f"CREATE TRIGGER {function} BEFORE INSERT ON pending_user_changes"
                f" FOR EACH ROW EXECUTE FUNCTION {function}()"
            )
        )
    try:
        yield
    finally:
        _stop_refusing(stack, tenant)
        engine.dispose()


def _stop_refusing(stack: Stack, tenant: Tenant) -> None:
    engine = make_engine(stack.users_database_url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TRIGGER IF EXISTS refuse_{tenant.id} ON pending_user_changes"))
        connection.execute(text(f"DROP FUNCTION IF EXISTS refuse_{tenant.id}()"))
    engine.dispose()


def _users_named(scim: httpx.Client, user_name: str) -> int:
    found = scim.get("/Users", params={"filter": f'userName eq "{user_name}"'}).json()
    return int(found["totalResults"])


def _unresolved_gauge(stack: Stack, topic: str) -> float:
    body = httpx.get(f"http://127.0.0.1:{stack.gateway_ports[0]}/metrics", timeout=10).text
    prefix = f'roster_dead_letters_unresolved{{topic="{topic}"}} '
    return float(
        next((line.removeprefix(prefix) for line in body.splitlines() if line.startswith(prefix)), 0)
    )


@pytest.mark.usefixtures("users_database_refuses")
def test_a_create_that_failed_is_listed_then_replayed_once_the_cause_is_fixed(
    stack: Stack, tenant: Tenant, scim: httpx.Client
) -> None:
    failed = scim.post("/Users", json=user_body("dlq.replay@example.com"))
    assert failed.status_code >= 500, failed.text
    letter = _listed_soon(stack, tenant)
    assert (letter["topic"], letter["service"], letter["state"]) == (USERS_COMMANDS, "users", "unresolved")
    assert "disk full (test)" in letter["error"]
    assert _unresolved_gauge(stack, USERS_COMMANDS) >= 1

    shown = _document(_dlq(stack, "show", letter["id"]))
    envelope = shown["envelope"]
    assert (envelope["type"], envelope["tenant"], envelope["producer"]) == (
        "CreateUser",
        tenant.id,
        "gateway",
    )
    assert shown["headers"]["message-type"] == "CreateUser"
    assert "payload" not in envelope and "dlq.replay" not in json.dumps(shown)  # no personal data shown
    assert _users_named(scim, "dlq.replay@example.com") == 0

    _stop_refusing(stack, tenant)
    replayed = _document(_dlq(stack, "replay", letter["id"]))
    assert replayed["state"] == "replayed"
    assert replayed["replay_message_id"] not in (None, envelope["message_id"])
    deadline = time.monotonic() + 30
    while _users_named(scim, "dlq.replay@example.com") == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _users_named(scim, "dlq.replay@example.com") == 1

    again = _dlq(stack, "replay", letter["id"])
    assert again.exit_code == ExitCode.CONFLICT and "replayed" in again.stderr
    time.sleep(1.0)  # had a second copy been sent, the users service would have handled it by now
    assert _users_named(scim, "dlq.replay@example.com") == 1
    with stack.admin() as admin:
        assert seats_used(admin, tenant) == 1
    assert _tenant_letters(stack, tenant) == []
    [kept] = _tenant_letters(stack, tenant, "--state", "replayed")
    assert kept["id"] == letter["id"]


async def _publish_poison(stack: Stack, tenant: Tenant) -> None:
    """A CreateUser whose payload lacks its profile: no number of retries can handle it."""
    envelope = wrap(
        CreateUser(user_id="p", profile=UserProfile(user_name="p")), tenant=tenant.id, producer="test"
    )
    poison = envelope.model_copy(update={"payload": {"user_id": "p"}})
    sender = await producer(stack.kafka_bootstrap)
    try:
        await sender.send_and_wait(USERS_COMMANDS, poison.to_bytes(), key=b"p")
    finally:
        await sender.stop()


def test_a_discarded_poison_message_leaves_the_default_list(stack: Stack, tenant: Tenant) -> None:
    asyncio.run(_publish_poison(stack, tenant))
    letter = _listed_soon(stack, tenant)
    assert "bad CreateUser payload" in letter["error"]
    before = _unresolved_gauge(stack, USERS_COMMANDS)

    discarded = _document(_dlq(stack, "discard", letter["id"]))
    assert (discarded["state"], discarded["replay_message_id"]) == ("discarded", None)
    assert _tenant_letters(stack, tenant) == []
    assert [d["id"] for d in _tenant_letters(stack, tenant, "--state", "discarded")] == [letter["id"]]
    assert _unresolved_gauge(stack, USERS_COMMANDS) == before - 1
    for decided_again in (_dlq(stack, "discard", letter["id"]), _dlq(stack, "replay", letter["id"])):
        assert decided_again.exit_code == ExitCode.CONFLICT, decided_again.stderr


@pytest.mark.parametrize(
    "letter_id", ["nothing", f"{USERS_COMMANDS}.dlq:0:999999999", "users.commands.v1:0:0"]
)
def test_an_id_naming_no_dead_letter_is_404_and_exit_code_3(stack: Stack, letter_id: str) -> None:
    for command in ("show", "replay", "discard"):
        result = _dlq(stack, command, letter_id)
        assert (result.exit_code, result.stdout) == (ExitCode.NOT_FOUND, ""), result.stderr
        assert result.stderr.startswith("roster-admin: 404: no dead letter")
        # The form is shown only to an id that does not have it.
        assert ("ids look like" in result.stderr) == (".dlq:" not in letter_id)
    with stack.admin() as admin:
        assert admin.post(f"/dead-letters/{letter_id}/replay").status_code == 404
        assert admin.get("/dead-letters", params={"state": "forgotten"}).status_code == 400


def test_a_list_filter_naming_nothing_is_refused_not_answered_empty(stack: Stack, tenant: Tenant) -> None:
    """An empty list reads as "nothing set aside": a mistyped filter must not say so."""
    unknown_tenant = _dlq(stack, "list", "--tenant", "no-such-tenant")
    assert unknown_tenant.exit_code == ExitCode.NOT_FOUND
    assert unknown_tenant.stderr.startswith("roster-admin: 404: no tenant with id 'no-such-tenant'")
    for option, value, said in (
        ("--topic", "users.comands.v1", "topic 'users.comands.v1' is no topic Roster consumes"),
        ("--service", "gateway", "service 'gateway' is none of Roster's: activity, seats, teams, users."),
    ):
        refused = _dlq(stack, "list", option, value)
        assert refused.exit_code == ExitCode.REFUSED, refused.stderr
        assert said in refused.stderr
    for option, value in (
        ("--topic", USERS_COMMANDS),
        ("--topic", f"{USERS_COMMANDS}.dlq"),
        ("--service", "users"),
    ):
        assert _dlq(stack, "list", option, value, "--tenant", tenant.id).exit_code == 0
