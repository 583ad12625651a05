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
from contracts.users import CreateUser, DeleteUser, ReplaceUser, UserProfile, UserReply
from servicekit import migrations
from servicekit.db import shown_url
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


def _user_id(engine: Engine, user_name: str) -> str:
    with Session(engine) as session:
        return session.exec(select(UserRow.id).where(UserRow.user_name == user_name)).one()


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current_revision(connection)


def _reactivate_while_seats_are_down(harness: UsersHarness, user_name: str) -> None:
    """The user, and their own reactivation waiting for a seat, which spells the name in lower case:
    one name in two tables."""
    user_id = _create(harness, user_name)
    off = UserProfile(user_name=user_name, active=False)
    assert isinstance(harness.send(ReplaceUser(user_id=user_id, profile=off)), UserReply)
    back = harness.envelope(ReplaceUser(user_id=user_id, profile=UserProfile(user_name=user_name.lower())))
    harness.deliver(back, pump=False)


def test_keys_written_before_0004_are_rewritten_and_a_downgrade_writes_them_back(
    harness: UsersHarness,
) -> None:
    _create(harness, DECOMPOSED)
    _create(harness, "ann@example.com")
    _reactivate_while_seats_are_down(harness, "H\u0331ans@example.com")  # "ẖans…"
    _create(harness, WAITING, pump=False)
    current = _keys(harness.engine)
    assert current == {
        ("users", "acme", DECOMPOSED): COMPOSED,
        ("users", "acme", "ann@example.com"): "ann@example.com",
        ("pending", "acme", WAITING): "\u1e97om@example.com",
        ("users", "acme", "H\u0331ans@example.com"): "\u1e96ans@example.com",
        ("pending", "acme", "h\u0331ans@example.com"): "\u1e96ans@example.com",
    }

    migrations.downgrade(harness.engine, DEFINITION.schema, "0003")
    assert _revision(harness.engine) == "0003"
    assert _keys(harness.engine) == {
        ("users", "acme", DECOMPOSED): "j\u030cohn@example.com",
        ("users", "acme", "ann@example.com"): "ann@example.com",
        ("pending", "acme", WAITING): "t\u0308om@example.com",
        ("users", "acme", "H\u0331ans@example.com"): "h\u0331ans@example.com",
        # NFC composes a lower-case h and its line below (U+1E96): the older key was the same.
        ("pending", "acme", "h\u0331ans@example.com"): "\u1e96ans@example.com",
    }

    migrations.upgrade(harness.engine, DEFINITION.schema)
    assert _revision(harness.engine) == migrations.head_revision(DEFINITION.schema)  # 0004 and after
    assert _keys(harness.engine) == current
    refused = harness.send(CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name=COMPOSED)))
    assert isinstance(refused, CommandRejected) and refused.reason == RejectionReason.USER_NAME_TAKEN


def test_two_users_whose_names_became_one_are_named_and_nothing_changes_until_one_goes(
    harness: UsersHarness,
) -> None:
    decomposed = _create(harness, DECOMPOSED)
    _create(harness, COMPOSED, tenant="globex")  # another tenant's user is no rival
    _create(harness, WAITING)  # a key that would change, and does not while the migration refuses
    migrations.downgrade(harness.engine, DEFINITION.schema, "0003")
    composed = _create(harness, COMPOSED)  # what a release before 0004 let in: its keys differed
    waiting = _create(harness, "\u1e97om@example.com", pump=False)  # a create waiting for its seat
    before = _keys(harness.engine)

    with pytest.raises(migrations.DataRefused) as refused:
        migrations.upgrade(harness.engine, DEFINITION.schema)
    tom = _user_id(harness.engine, WAITING)
    pairs = [
        " and ".join(sorted([f"user {decomposed} ({DECOMPOSED!r})", f"user {composed} ({COMPOSED!r})"])),
        " and ".join(sorted([f"user {tom} ({WAITING!r})", f"user {waiting} ('\u1e97om@example.com')"])),
    ]
    assert (
        f"only one user may hold: tenant acme: {'; tenant acme: '.join(sorted(pairs))}. Nothing was changed"
        in str(refused.value)
    )
    assert "globex" not in str(refused.value)
    assert _revision(harness.engine) == "0003" and _keys(harness.engine) == before

    harness.send(DeleteUser(user_id=composed))
    harness.send(DeleteUser(user_id=tom))
    harness.pump()  # the seats service back: the waiting create is granted its seat
    migrations.upgrade(harness.engine, DEFINITION.schema)
    assert _revision(harness.engine) == migrations.head_revision(DEFINITION.schema)  # 0004 and after
    after = _keys(harness.engine)
    assert after[("users", "acme", DECOMPOSED)] == COMPOSED
    assert after[("users", "acme", "\u1e97om@example.com")] == "\u1e97om@example.com"


def test_migrate_says_why_it_refused_and_exits_1(
    harness: UsersHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    _create(harness, DECOMPOSED)
    migrations.downgrade(harness.engine, DEFINITION.schema, "0003")
    _create(harness, COMPOSED)
    url = harness.engine.url.render_as_string(hide_password=False)
    assert migrations.migrate_exit_status(DEFINITION.schema, url) == 1
    said = f"users: {shown_url(url)}: migration failed: these userNames are one name"
    assert said in capsys.readouterr().err
    assert _revision(harness.engine) == "0003"
