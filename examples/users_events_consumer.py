"""A downstream consumer of Roster's users events: a small SQLite read model of users (docs/events.md).

    uv run python -m examples.users_events_consumer --database var/users-read-model.db

* At least once: offsets are committed only after the events they cover are in SQLite, so a crash
  re-reads them instead of losing them.
* Idempotent: each applied event's ``message_id`` goes into the ``inbox`` table in the same SQLite
  transaction as the change, so a redelivered (or re-published) event changes nothing.
* Ordered per user: events are keyed ``<tenant>:<user id>``, so one user's events arrive in the order
  Roster committed them; nothing here depends on the order between users.
* Tolerant reader: unknown envelope fields are ignored (the contracts' models do that), event types this
  consumer does not know are skipped, and undecodable records are logged and skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from contracts.envelope import Envelope, Message
from contracts.registry import payload_of
from contracts.topics import USERS_EVENTS
from contracts.users import (
    DefaultManagerChanged,
    UserCreated,
    UserDeactivated,
    UserDeleted,
    UserManagerChanged,
    UserReactivated,
    UserRecord,
    UserUpdated,
)

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    display_name TEXT,
    email TEXT,
    role TEXT NOT NULL,
    active INTEGER NOT NULL,
    manager_id TEXT,
    version INTEGER NOT NULL,
    PRIMARY KEY (tenant, user_id)
);
CREATE TABLE IF NOT EXISTS default_managers (tenant TEXT PRIMARY KEY, user_id TEXT);
CREATE TABLE IF NOT EXISTS inbox (message_id TEXT PRIMARY KEY, type TEXT NOT NULL, occurred_at TEXT NOT NULL);
"""


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # its message_id is in the inbox: applied before
    SKIPPED = "skipped"  # a type this consumer does not handle (tolerant reader)
    UNREADABLE = "unreadable"  # not an envelope, or a payload its type's contract refuses


def _save_user(db: sqlite3.Connection, tenant: str, user: UserRecord) -> None:
    profile = user.profile
    email = next((e.value for e in sorted(profile.emails, key=lambda e: not e.primary)), None)
    db.execute(
        "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tenant,
            user.id,
            profile.user_name,
            profile.display_name,
            email,
            profile.role.value,
            profile.is_active,
            user.manager_id,
            user.version,
        ),
    )


def _created_or_updated(db: sqlite3.Connection, tenant: str, event: UserCreated | UserUpdated) -> None:
    _save_user(db, tenant, event.user)  # both carry the whole user as it is now


def _set_active(active: bool) -> Callable[[sqlite3.Connection, str, Any], None]:
    def apply(db: sqlite3.Connection, tenant: str, event: UserDeactivated | UserReactivated) -> None:
        db.execute(
            "UPDATE users SET active = ? WHERE tenant = ? AND user_id = ?", (active, tenant, event.user_id)
        )

    return apply


def _deleted(db: sqlite3.Connection, tenant: str, event: UserDeleted) -> None:
    db.execute("DELETE FROM users WHERE tenant = ? AND user_id = ?", (tenant, event.user_id))


def _manager_changed(db: sqlite3.Connection, tenant: str, event: UserManagerChanged) -> None:
    query = "UPDATE users SET manager_id = ? WHERE tenant = ? AND user_id = ?"
    db.execute(query, (event.manager_id, tenant, event.user_id))


def _default_manager_changed(db: sqlite3.Connection, tenant: str, event: DefaultManagerChanged) -> None:
    db.execute("INSERT OR REPLACE INTO default_managers VALUES (?, ?)", (tenant, event.effective_id))


APPLY: dict[type[Message], Callable[[sqlite3.Connection, str, Any], None]] = {
    UserCreated: _created_or_updated,
    UserUpdated: _created_or_updated,
    UserDeactivated: _set_active(False),
    UserReactivated: _set_active(True),
    UserDeleted: _deleted,
    UserManagerChanged: _manager_changed,
    DefaultManagerChanged: _default_manager_changed,
}
_HANDLED = {message.type_name() for message in APPLY}


class UsersReadModel:
    """The read model in one SQLite file; ``outcomes`` counts what each record amounted to."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Used from one worker thread at a time (``consume`` awaits each record before the next).
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.executescript(SCHEMA)
        self.outcomes: Counter[Outcome] = Counter()

    def apply(self, value: bytes) -> Outcome:
        outcome = self._apply(value)
        self.outcomes[outcome] += 1
        return outcome

    def _apply(self, value: bytes) -> Outcome:
        try:
            envelope = Envelope.from_bytes(value)
            if envelope.type not in _HANDLED:
                return Outcome.SKIPPED
            event = payload_of(envelope)
        except (ValidationError, UnicodeDecodeError) as error:
            log.warning("skipping an unreadable record: %s", error)
            return Outcome.UNREADABLE
        with self._db:  # one transaction: the inbox row and the change commit together, or neither
            inbox = "INSERT OR IGNORE INTO inbox VALUES (?, ?, ?)"
            fresh = self._db.execute(
                inbox, (str(envelope.message_id), envelope.type, envelope.occurred_at.isoformat())
            )
            if fresh.rowcount == 0:
                return Outcome.DUPLICATE
            APPLY[type(event)](self._db, envelope.tenant, event)
        return Outcome.APPLIED

    def user(self, tenant: str, user_id: str) -> dict[str, Any] | None:
        cursor = self._db.execute("SELECT * FROM users WHERE tenant = ? AND user_id = ?", (tenant, user_id))
        row = cursor.fetchone()
        return None if row is None else dict(zip([c[0] for c in cursor.description], row, strict=True))

    def default_manager(self, tenant: str) -> str | None:
        row = self._db.execute("SELECT user_id FROM default_managers WHERE tenant = ?", (tenant,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._db.close()


async def consume(
    model: UsersReadModel, *, bootstrap: str, group_id: str, stop: asyncio.Event, topic: str = USERS_EVENTS
) -> None:
    """Apply the topic's events until ``stop`` is set, committing offsets after each applied batch."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,  # commit only what SQLite holds
        auto_offset_reset="earliest",  # a new group starts from the oldest event still retained
    )
    await consumer.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    await asyncio.to_thread(model.apply, record.value or b"")
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    model = UsersReadModel(args.database)
    try:
        await consume(model, bootstrap=args.bootstrap, group_id=args.group, stop=stop, topic=args.topic)
    finally:
        model.close()
        log.info("stopped: %s", dict(model.outcomes))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--database", type=Path, default=Path("var/users-read-model.db"))
    parser.add_argument("--group", default="users-read-model", help="this consumer's Kafka consumer group")
    parser.add_argument("--topic", default=USERS_EVENTS)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
