"""Schema revision 0004 on SQLite and PostgreSQL: userName keys stored before they were the filters'
key are rewritten, or, while two users hold names that are now one, nothing is and the migration says
who; its downgrade writes the older keys back."""

from __future__ import annotations

from uuid import uuid4

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from contracts.rejections import RejectionReason
from contracts.replies import CommandRejected
from contracts.users import CreateUser, DeleteUser, UserProfile, UserReply
from servicekit import migrations
from services.users.app import DEFINITION
from services.users.pending import PendingChange
from services.users.store import UserRow
from services.users.tests.conftest import UsersHarness

DECOMPOSED = "J\u030cohn@example.com"  # lower case "j\u030cohn…", which NFC composes to "\u01f0ohn…"
COMPOSED = "\u01f0ohn@example.com"
WAITING = "T\u0308om@example.com"  # lower case "t\u0308om…", NFC "\u1e97om…"


def _create(harness: UsersHarness, user_name: str, *, tenant: str = "acme", pump: bool = True) -> str:
    """``pump=False``: the seats service never answers, so an active create waits for its seat."""
    command = CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name=user_name))
    envelope = harness.envelope(command, tenant=tenant)
    harness.deliver(envelope, pump=pump)
    if pump:
        assert isinstance(harness.reply_to(envelope), UserReply)
    return command.user_id


def _keys(engine: Engine) -> dict[tuple[str, str, str], str | None]:
    """(table, tenant, userName) → the stored key."""
    with Session(engine) as session:
        users = {
            ("users", row.tenant, row.user_name): row.user_name_key for row in session.exec(select(UserRow))
        }
        waiting = {
            ("pending", row.tenant, row.user.profile.user_name): row.user_name_key
            for row in session.exec(select(PendingChange))
        }
    return users | waiting


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current_revision(connection)


def test_keys_written_before_0004_are_rewritten_and_a_downgrade_writes_them_back(
    harness: UsersHarness,
) -> None:
    _create(harness, DECOMPOSED)
    _create(harness, "ann@example.com")
    _create(harness, WAITING, pump=False)
    current = _keys(harness.engine)
    assert current == {
        ("users", "acme", DECOMPOSED): COMPOSED,
        ("users", "acme", "ann@example.com"): "ann@example.com",
        ("pending", "acme", WAITING): "\u1e97om@example.com",
    }

    migrations.downgrade(harness.engine, DEFINITION.schema, "0003")
    assert _revision(harness.engine) == "0003"
    assert _keys(harness.engine) == {
        ("users", "acme", DECOMPOSED): "j\u030cohn@example.com",
        ("users", "acme", "ann@example.com"): "ann@example.com",
        ("pending", "acme", WAITING): "t\u0308om@example.com",
    }

    migrations.upgrade(harness.engine, DEFINITION.schema)
    assert _revision(harness.engine) == "0004"
    assert _keys(harness.engine) == current
    refused = harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name=COMPOSED)))
    assert isinstance(refused, CommandRejected) and refused.reason == RejectionReason.USER_NAME_TAKEN


def test_two_users_whose_names_became_one_are_named_and_nothing_changes_until_one_goes(
    harness: UsersHarness,
) -> None:
    decomposed = _create(harness, DECOMPOSED)
    _create(harness, COMPOSED, tenant="globex")  # another tenant's user is no rival
    migrations.downgrade(harness.engine, DEFINITION.schema, "0003")
    composed = _create(harness, COMPOSED)  # what a release before 0004 let in: its keys differed
    before = _keys(harness.engine)

    with pytest.raises(migrations.DataRefused) as refused:
        migrations.upgrade(harness.engine, DEFINITION.schema)
    pair = " and ".join(sorted([f"user {decomposed} ({DECOMPOSED!r})", f"user {composed} ({COMPOSED!r})"]))
    assert f"only one user may hold: tenant acme: {pair}. Rename or delete" in str(refused.value)
    assert "globex" not in str(refused.value)
    assert _revision(harness.engine) == "0003" and _keys(harness.engine) == before

    harness.send(DeleteUser(user_id=composed))
    migrations.upgrade(harness.engine, DEFINITION.schema)
    assert _revision(harness.engine) == "0004"
    assert _keys(harness.engine)[("users", "acme", DECOMPOSED)] == COMPOSED
