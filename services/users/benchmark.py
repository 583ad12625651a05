"""How filter lookups scale with a tenant's size: seed users in bulk, time ``ListUsers`` through the handler.

    python -m services.users.benchmark [--database-url URL] [--sizes 1000,100000] [--repeats 200]

Without ``--database-url`` it uses a fresh SQLite file. Users are written with ``store.add_users`` (the
search index included) in large transactions; each query runs ``handlers.list_users`` in its own
transaction, as the message processor does (without the inbox/outbox writes). Prints one markdown row
per (size, query): median, 95th percentile and maximum in milliseconds. It prints numbers; it never
judges them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from sqlalchemy import Engine, text
from sqlmodel import Session

from contracts.envelope import wrap
from contracts.users import (
    ContactValue,
    EnterpriseInfo,
    ListUsers,
    PersonName,
    UserPage,
    UserProfile,
    UserRecord,
)
from servicekit import migrations
from servicekit.db import make_engine
from servicekit.records import Outgoing
from services.users import handlers
from services.users.schema import SCHEMA
from services.users.store import add_users

DEPARTMENTS = ("Sales", "Marketing", "Engineering", "Support", "Finance")
_BATCH = 2000


def okta_user(index: int, *, now: datetime) -> UserRecord:
    """An Okta-shaped user: the attributes Okta's default mapping sends."""
    login = f"user{index:07d}@example.com"
    profile = UserProfile(
        user_name=login,
        external_id=f"00u{index:017d}",
        display_name=f"User {index}",
        locale="en-US",
        title="Account Executive" if index % 3 else "Sales Engineer",
        active=index % 10 != 0,
        name=PersonName(given_name="User", family_name=f"N{index}", formatted=f"User N{index}"),
        emails=(ContactValue(value=login, type="work", primary=True),),
        enterprise=EnterpriseInfo(
            employee_number=str(index),
            department=DEPARTMENTS[index % len(DEPARTMENTS)],
            manager_ref=f"user{index // 10:07d}@example.com",
        ),
    )
    return UserRecord(id=str(uuid4()), profile=profile, created=now, last_modified=now, version=1)


def seed(engine: Engine, *, tenant: str, start: int, stop: int) -> float:
    """Users ``start`` … ``stop - 1`` of ``tenant``, in batches; returns the seconds it took."""
    began = time.perf_counter()
    for first in range(start, stop, _BATCH):
        now = datetime.now(UTC)
        users = [okta_user(index, now=now) for index in range(first, min(first + _BATCH, stop))]
        with Session(engine) as session, session.begin():
            add_users(session, tenant=tenant, users=users)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))  # what autovacuum would soon do
    return time.perf_counter() - began


def footprint(engine: Engine) -> str:
    """Index rows per user and the space users take, for the record."""
    with engine.connect() as connection:
        users = connection.execute(text("SELECT count(*) FROM users")).scalar_one()
        entries = connection.execute(text("SELECT count(*) FROM user_attributes")).scalar_one()
        if engine.dialect.name == "postgresql":
            size = connection.execute(
                text("SELECT pg_total_relation_size('users') + pg_total_relation_size('user_attributes')")
            ).scalar_one()
        else:
            pages = connection.execute(text("PRAGMA page_count")).scalar_one()
            size = pages * connection.execute(text("PRAGMA page_size")).scalar_one()
    per_user = entries / max(users, 1)
    return f"{entries:,} index rows ({per_user:.1f} per user), {size / 2**20:,.0f} MiB for users and index"


def list_users(engine: Engine, *, tenant: str, query: ListUsers) -> UserPage:
    envelope = wrap(query, tenant=tenant, producer="bench", reply_to="bench.replies")
    with Session(engine) as session, session.begin():
        outgoing: list[Outgoing] = handlers.list_users(session, envelope, query)
    page = outgoing[0].envelope.payload
    return UserPage.model_validate(page)


@dataclass(frozen=True)
class Timing:
    query: str
    found: int
    median_ms: float
    p95_ms: float
    max_ms: float


def time_query(
    engine: Engine, *, tenant: str, name: str, make: Callable[[int], ListUsers], repeats: int
) -> Timing:
    samples: list[float] = []
    found = 0
    for attempt in range(repeats):
        query = make(attempt)
        began = time.perf_counter()
        page = list_users(engine, tenant=tenant, query=query)
        samples.append((time.perf_counter() - began) * 1000)
        found = page.total_results
    samples.sort()
    return Timing(
        query=name,
        found=found,
        median_ms=statistics.median(samples),
        p95_ms=samples[min(len(samples) - 1, int(len(samples) * 0.95))],
        max_ms=samples[-1],
    )


def queries(size: int) -> dict[str, Callable[[int], ListUsers]]:
    """Each lookup targets a different existing user on every repetition (no cache helps)."""

    def login(attempt: int) -> str:
        return f"user{(attempt * 7919) % size:07d}@example.com"

    return {
        'userName eq "…"': lambda n: ListUsers(filter=f'userName eq "{login(n).upper()}"'),
        'emails.value eq "…"': lambda n: ListUsers(filter=f'emails.value eq "{login(n)}"'),
        'emails[type eq "work"].value eq "…"': lambda n: ListUsers(
            filter=f'emails[type eq "work"].value eq "{login(n)}"'
        ),
        'externalId eq "…"': lambda n: ListUsers(filter=f'externalId eq "00u{(n * 7919) % size:017d}"'),
        'userName eq "…" (no such user)': lambda n: ListUsers(filter=f'userName eq "nobody{n}@example.com"'),
        "page of 100, no filter": lambda n: ListUsers(start_index=1 + (n * 100) % size, count=100),
        "page of 100, sortBy=userName": lambda n: ListUsers(sort_by="userName", count=100),
        'title co "engineer" (count only)': lambda n: ListUsers(filter='title co "engineer"', count=0),
    }


def run(engine: Engine, *, sizes: Sequence[int], repeats: int) -> Iterator[str]:
    tenant = uuid4().hex[:16]
    migrations.upgrade(engine, SCHEMA)
    seeded = 0
    yield f"database: {engine.dialect.name}; tenant {tenant}; {repeats} repetitions per query"
    yield ""
    yield "| users | query | matches | median ms | p95 ms | max ms |"
    yield "| ---: | --- | ---: | ---: | ---: | ---: |"
    for size in sizes:
        seconds = seed(engine, tenant=tenant, start=seeded, stop=size)
        report = f"seeded {size - seeded} users in {seconds:.1f} s; {footprint(engine)}"
        print(report, file=sys.stderr, flush=True)
        seeded = size
        for name, make in queries(size).items():
            scans = "co" in name or "sortBy" in name  # every user of the tenant: fewer repetitions
            times = max(repeats // 10, 5) if scans else repeats
            timing = time_query(engine, tenant=tenant, name=name, make=make, repeats=times)
            yield (
                f"| {size:,} | `{timing.query}` | {timing.found:,} | {timing.median_ms:.2f} |"
                f" {timing.p95_ms:.2f} | {timing.max_ms:.2f} |"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary directory")
    parser.add_argument("--sizes", default="1000,100000", help="tenant sizes to measure at, ascending")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="users-bench-") as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench.db'}"
        engine = make_engine(url)
        try:
            for line in run(engine, sizes=sizes, repeats=args.repeats):
                print(line, flush=True)
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
