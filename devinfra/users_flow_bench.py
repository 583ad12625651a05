"""The users service's share of one Okta create flow, without Kafka: its CPU and SQL statements per flow.

    python -m devinfra.users_flow_bench [--flows 300] [--warmup 20] [--postgres]

What the users process handles for one flow, through the real message processors on fresh SQLite
files (with ``--postgres``, databases on a local PostgreSQL server started for the run), in this
process: the lookup (``ListUsers`` with ``userName eq "…"``, a query), the
``CreateUser`` the gateway makes of Okta's POST body, and the seat events that create causes (the
seats service's real handlers, on a database of their own, answer the seat commands; the tenant has
seats for everyone, so after the first create the seat allowance pays). Prints the thread CPU
milliseconds per flow of each step, their wall-clock milliseconds (on PostgreSQL, mostly round trips:
what a consumer handling one record at a time waits for), the statements each step sent to the users
database and, on PostgreSQL, the server's CPU per flow (both services' databases, the seats service's
work included). Consuming, publishing and the relay are not in it (``make bench`` measures the whole
process).
It prints numbers; it never judges them.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import Engine, event
from sqlmodel import Session

from contracts.envelope import Envelope, Message, wrap
from contracts.seats import SetSeatLimit
from contracts.topics import SEATS_COMMANDS, SEATS_EVENTS, USERS_COMMANDS, USERS_QUERIES
from contracts.users import CreateUser, ListUsers
from devinfra.bench.cpu import cpu_seconds
from devinfra.bench.load import okta_user
from devinfra.postgres import LocalPostgres
from servicekit import migrations
from servicekit.answering import QueryProcessor
from servicekit.db import make_engine
from servicekit.handling import MessageProcessor
from servicekit.messaging import claim_unpublished, mark_published
from servicekit.records import RawRecord
from services.gateway.scim.users.translate import profile_from_scim
from services.seats.app import DEFINITION as SEATS
from services.seats.handlers import command_handlers
from services.users.app import DEFINITION as USERS

TENANT = "bench"


class Flow:
    """The users service's processors as ``servicekit.service`` wires them, and the seats service's."""

    def __init__(self, users: Engine, seats: Engine) -> None:
        self.users, self.seats_engine, self._offset = users, seats, 0
        common: dict[str, Any] = {"engine": users, "producer": "users", "max_attempts": 3}
        [commands] = USERS.subscriptions.values()
        [queries] = USERS.queries.values()
        [seat_events] = USERS.listens.values()
        self.commands = MessageProcessor(handlers=commands, **common)
        self.queries = QueryProcessor(handlers=queries, **common)
        self.seat_events = MessageProcessor(
            handlers=seat_events,
            skip_unhandled=True,
            compensations=USERS.compensations,
            needless=USERS.needless,
            **common,
        )
        self.seats = MessageProcessor(
            engine=seats, handlers=command_handlers(allowance_block=50), producer="seats", max_attempts=3
        )
        self.cpu_s: dict[str, float] = {}
        self.wall_s: dict[str, float] = {}
        self.statements: Counter[tuple[str, str]] = Counter()
        self._step = "-"
        event.listen(users, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements[(self._step, " ".join(statement.split()[:4]))] += 1

    def record(self, topic: str, key: bytes | None, value: bytes) -> RawRecord:
        self._offset += 1
        return RawRecord(topic, 0, self._offset, key, value)

    def timed(self, step: str, processor: MessageProcessor, record: RawRecord) -> None:
        self._step, started, began = step, time.thread_time(), time.perf_counter()
        processor.process(record)
        self.cpu_s[step] = self.cpu_s.get(step, 0.0) + time.thread_time() - started
        self.wall_s[step] = self.wall_s.get(step, 0.0) + time.perf_counter() - began
        self._step = "-"

    def forget_warmup(self) -> None:
        self.cpu_s.clear()
        self.wall_s.clear()
        self.statements.clear()

    def carry(self, engine: Engine, topic: str, deliver: Callable[[RawRecord], object]) -> None:
        """What a relay would publish from ``engine``'s outbox on ``topic``, delivered one by one."""
        with Session(engine) as session, session.begin():
            rows = claim_unpublished(session, limit=100_000, topic=topic)
            waiting = [(row.key, row.value) for row in rows]
            mark_published(session, ids=[row.id for row in rows if row.id is not None])
        for key, value in waiting:
            deliver(self.record(topic, key, value))

    def one(self, index: int) -> None:
        name = f"flow-{uuid4().hex[:8]}-{index}@example.com"
        lookup = ListUsers(filter=f'userName eq "{name}"', start_index=1, count=100)
        self.timed("lookup", self.queries, self.record(USERS_QUERIES, b"k", _request(lookup).to_bytes()))
        create = CreateUser(user_id=str(uuid4()), profile=profile_from_scim(okta_user(name, index)))
        self.timed("create", self.commands, self.record(USERS_COMMANDS, b"k", _request(create).to_bytes()))
        self.carry(self.users, SEATS_COMMANDS, self.seats.process)
        self.carry(
            self.seats_engine,
            SEATS_EVENTS,
            lambda record: self.timed("seat events", self.seat_events, record),
        )
        for topic in ("users.events.v1", "bench.replies"):
            self.carry(self.users, topic, lambda record: None)


def _request(message: Message) -> Envelope:
    return wrap(message, tenant=TENANT, producer="gateway", reply_to="bench.replies")


def _per_flow(seconds: dict[str, float], flows: int) -> str:
    steps = ", ".join(f"{step} {spent / flows * 1000:.2f}" for step, spent in seconds.items())
    return f"{sum(seconds.values()) / flows * 1000:.2f} ({steps})"


def report(flow: Flow, flows: int, *, database_cpu_s: float | None = None) -> str:
    lines = [
        f"users CPU ms/flow: {_per_flow(flow.cpu_s, flows)}",
        f"users wall ms/flow: {_per_flow(flow.wall_s, flows)}",
    ]
    if database_cpu_s is not None:
        lines.append(f"PostgreSQL CPU ms/flow: {database_cpu_s / flows * 1000:.2f}")
    lines.append("statements per flow:")
    for (step, statement), n in sorted(flow.statements.items()):
        if step != "-":
            lines.append(f"  {step:<12} {n / flows:5.2f}  {statement}")
    return "\n".join(lines)


@contextlib.contextmanager
def _databases(*, postgres: bool) -> Iterator[tuple[Engine, Engine, Callable[[], float | None]]]:
    """The users and seats databases, and what their server's processes have used of the CPU so far
    (None on SQLite, which runs in this process)."""
    workdir = Path(tempfile.mkdtemp(prefix="users-flow-"))  # the postgres OS user can reach it
    try:
        if not postgres:
            with _engines([f"sqlite:///{workdir / name}.db" for name in ("users", "seats")]) as (
                users,
                seats,
            ):
                yield users, seats, lambda: None
            return
        with LocalPostgres(workdir) as server:
            postmaster = int((server.data_dir / "postmaster.pid").read_text().split()[0])
            with _engines([server.create_database(name) for name in ("users", "seats")]) as (users, seats):
                yield users, seats, lambda: sum(cpu_seconds([postmaster]).values())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def _engines(urls: list[str]) -> Iterator[tuple[Engine, Engine]]:
    users, seats = (make_engine(url) for url in urls)
    try:
        migrations.ensure_ready(users, USERS.schema)
        migrations.ensure_ready(seats, SEATS.schema)
        yield users, seats
    finally:
        users.dispose()
        seats.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devinfra.users_flow_bench", description=__doc__)
    parser.add_argument("--flows", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="a local PostgreSQL server, not SQLite")
    args = parser.parse_args(argv)
    with _databases(postgres=args.postgres) as (users, seats, server_cpu):
        flow = Flow(users, seats)
        limit = wrap(SetSeatLimit(limit=10 * (args.flows + args.warmup)), tenant=TENANT, producer="bench")
        flow.seats.process(flow.record(SEATS_COMMANDS, TENANT.encode(), limit.to_bytes()))
        for index in range(args.warmup):
            flow.one(index)
        flow.forget_warmup()
        before = server_cpu()
        for index in range(args.warmup, args.warmup + args.flows):
            flow.one(index)
        after = server_cpu()
        used = None if before is None or after is None else after - before
        print(report(flow, args.flows, database_cpu_s=used))


if __name__ == "__main__":
    main()
