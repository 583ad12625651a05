"""How the activity log pages as a tenant's log grows: seed entries in bulk, time ``ListActivity``
through the handler, on SQLite and on PostgreSQL (``make bench``).

    python -m devinfra.activity_bench [--entries 100000] [--repeats 100] [--database-url URL]

Without ``--database-url`` it measures a fresh SQLite file and a fresh local PostgreSQL server (the
one the tests use, started in a temporary directory). Two tenants of ``--entries`` each, shaped like a
month of Okta provisioning: mostly reads (Okta's ``userName eq`` checks), creates and updates, a few
refusals, and the users and teams events they caused. Each query runs ``handlers.list_activity`` in its
own transaction, as the message processor does (without the inbox/outbox writes). Prints one markdown
row per query: median, 95th percentile and maximum in milliseconds. It prints numbers; it never judges
them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import NAMESPACE_URL, uuid4, uuid5

from sqlalchemy import Engine, insert, text
from sqlmodel import Session

from contracts.activity import ActivityPage, ListActivity, Outcome
from contracts.envelope import wrap
from devinfra.postgres import LocalPostgres
from servicekit import migrations
from servicekit.db import make_engine
from services.activity import domain, handlers
from services.activity.schema import SCHEMA
from services.activity.store import ActivityRow, KnownName

_BATCH = 5000
_START = datetime(2026, 3, 1, tzinfo=UTC)
_SPAN = timedelta(days=30)
# (share in 100, kind, outcome, summary, status): a month of Okta as the log records it.
_SHAPES = (
    (55, "request", Outcome.READ, "GET User", 200),
    (10, "request", Outcome.CREATED, "POST User", 201),
    (10, "event", Outcome.CREATED, "UserCreated", None),
    (10, "request", Outcome.UPDATED, "PATCH User", 200),
    (10, "event", Outcome.UPDATED, "UserUpdated", None),
    (2, "request", Outcome.REFUSED, "POST User", 403),
    (2, "event", Outcome.REFUSED, "SeatDenied", None),
    (1, "request", Outcome.FAILED, "PATCH User", 503),
)
_PLAN = [shape for shape in _SHAPES for _ in range(shape[0])]
USERS_PER_TENANT = 5000


def _row(tenant: str, index: int, entries: int) -> dict[str, object]:
    _, kind, outcome, summary, status = _PLAN[(index * 37) % len(_PLAN)]
    user = index % USERS_PER_TENANT
    return {
        "entry_id": str(uuid4()),
        "tenant": tenant,
        "occurred_at": _START + _SPAN * (index / entries),
        "kind": kind,
        "outcome": outcome.value,
        "summary": summary,
        "correlation_id": str(uuid5(NAMESPACE_URL, f"{tenant}:{index // 2}")),
        "resource_type": "User",
        "resource_id": f"{tenant}-user-{user}",
        "name": f"user{user}@example.com",
        "client": "okta" if kind == "request" else None,
        "method": summary.split()[0] if kind == "request" else None,
        "status": status,
        "detail": "Seat limit reached: 100 of 100 seats in use." if status == 403 else None,
        "duration_ms": 20.0 if kind == "request" else None,
    }


def seed(engine: Engine, *, tenant: str, entries: int) -> float:
    began = time.perf_counter()
    for first in range(0, entries, _BATCH):
        rows = [_row(tenant, index, entries) for index in range(first, min(first + _BATCH, entries))]
        with Session(engine) as session, session.begin():
            session.execute(insert(ActivityRow), rows)
    names = [
        {"tenant": tenant, "resource_id": f"{tenant}-user-{user}", "resource_type": "User",
         "name": f"user{user}@example.com", "seen_at": _START}
        for user in range(USERS_PER_TENANT)
    ]  # fmt: skip
    with Session(engine) as session, session.begin():
        session.execute(insert(KnownName), names)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))  # what autovacuum would soon do
    return time.perf_counter() - began


def list_activity(engine: Engine, *, tenant: str, query: ListActivity) -> ActivityPage:
    envelope = wrap(query, tenant=tenant, producer="bench", reply_to="bench.replies")
    with Session(engine) as session, session.begin():
        [reply] = handlers.list_activity(session, envelope, query)
    return ActivityPage.model_validate(reply.envelope.payload)


def _deep_cursor(engine: Engine, *, tenant: str, depth: int) -> str:
    """The cursor a reader holds after paging ``depth`` entries back."""
    with engine.connect() as connection:
        moment, entry_id = connection.execute(
            text(
                "SELECT occurred_at, entry_id FROM activity WHERE tenant = :t"
                " ORDER BY occurred_at DESC, entry_id DESC LIMIT 1 OFFSET :d"
            ),
            {"t": tenant, "d": depth},
        ).one()
    moment = moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))
    return domain.cursor(moment.replace(tzinfo=moment.tzinfo or UTC), str(entry_id))


def queries(engine: Engine, *, tenant: str, entries: int) -> dict[str, Callable[[int], ListActivity]]:
    """Each repetition asks about a different user, hour or conversation (no cache helps)."""
    deep = _deep_cursor(engine, tenant=tenant, depth=entries // 2)

    def hour(n: int) -> datetime:
        return _START + timedelta(hours=(n * 13) % (24 * 29))

    return {
        "newest 50": lambda n: ListActivity(),
        "50, half-way back (cursor)": lambda n: ListActivity(after=deep),
        "outcome refused, newest 50": lambda n: ListActivity(outcome=Outcome.REFUSED),
        "user by userName": lambda n: ListActivity(user=f"user{(n * 7919) % USERS_PER_TENANT}@example.com"),
        "user by id": lambda n: ListActivity(user=f"{tenant}-user-{(n * 7919) % USERS_PER_TENANT}"),
        "one hour (since/until)": lambda n: ListActivity(since=hour(n), until=hour(n) + timedelta(hours=1)),
        "refused in one day": lambda n: ListActivity(
            outcome=Outcome.REFUSED, since=hour(n), until=hour(n) + timedelta(days=1)
        ),
        "correlation id": lambda n: ListActivity(
            correlation_id=str(_row(tenant, (n * 7919) % entries, entries)["correlation_id"])
        ),
        "page of 200": lambda n: ListActivity(limit=200),
    }


def _timed(engine: Engine, *, tenant: str, make: Callable[[int], ListActivity], repeats: int) -> list[float]:
    samples = []
    for attempt in range(repeats):
        query = make(attempt)
        began = time.perf_counter()
        list_activity(engine, tenant=tenant, query=query)
        samples.append((time.perf_counter() - began) * 1000)
    return sorted(samples)


def run(engine: Engine, *, entries: int, repeats: int) -> Iterator[str]:
    migrations.upgrade(engine, SCHEMA)
    tenant, neighbour = uuid4().hex[:16], uuid4().hex[:16]
    seconds = seed(engine, tenant=tenant, entries=entries) + seed(engine, tenant=neighbour, entries=entries)
    yield f"database: {engine.dialect.name}; two tenants of {entries:,} entries (seeded in {seconds:.0f} s);"
    yield f"{repeats} repetitions per query"
    yield ""
    yield "| database | entries per tenant | query | entries returned | median ms | p95 ms | max ms |"
    yield "| --- | ---: | --- | ---: | ---: | ---: | ---: |"
    for name, make in queries(engine, tenant=tenant, entries=entries).items():
        returned = len(list_activity(engine, tenant=tenant, query=make(0)).entries)
        samples = _timed(engine, tenant=tenant, make=make, repeats=repeats)
        p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
        median = statistics.median(samples)
        yield (
            f"| {engine.dialect.name} | {entries:,} | {name} | {returned} | {median:.2f} | {p95:.2f} |"
            f" {samples[-1]:.2f} |"
        )


def _measure(url: str, *, entries: int, repeats: int) -> None:
    engine = make_engine(url)
    try:
        for line in run(engine, entries=entries, repeats=repeats):
            print(line, flush=True)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a new SQLite file, then a new local PostgreSQL")
    parser.add_argument("--entries", type=int, default=100_000, help="entries per tenant (two tenants)")
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args(argv)
    if args.database_url:
        _measure(args.database_url, entries=args.entries, repeats=args.repeats)
        return 0
    scratch = Path(tempfile.mkdtemp(prefix="activity-bench-"))
    scratch.chmod(0o755)  # the postgres OS user enters it
    try:
        _measure(f"sqlite:///{scratch / 'activity.db'}", entries=args.entries, repeats=args.repeats)
        with LocalPostgres(scratch / "postgres") as server:
            _measure(server.url("postgres"), entries=args.entries, repeats=args.repeats)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
