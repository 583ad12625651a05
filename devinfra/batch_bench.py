"""What batches save the activity service when records queue up: the CPU to record a backlog, one
transaction per record (``ACTIVITY_BATCH_MAX_RECORDS=1``) against the default batches, on SQLite and
on PostgreSQL (``servicekit/batching.py``).

    python -m devinfra.batch_bench [--records 2000] [--batch 1,200] [--kafka BOOTSTRAP]

Starts a local Kafka broker (unless ``--kafka``) and a local PostgreSQL server. For each database and
batch size: a fresh database and consumer groups of their own, placed at the end of the topics; then
``--records`` request outcomes (gateway.outcomes.v1) and as many ``UserCreated`` events
(users.events.v1) are published, and the activity service (in this process) is started and timed until
every one is recorded. Prints one markdown row per run: wall seconds, records per second, and the CPU
milliseconds per record of this process (the service: consumers, handlers, SQLite), of Kafka and of
PostgreSQL, read from /proc. Publishing is not in it. It prints numbers; it never judges them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlmodel import Session

from contracts import users
from contracts.activity import ClientKind, RequestOutcome
from contracts.envelope import wrap
from contracts.topics import GATEWAY_OUTCOMES, USERS_EVENTS
from devinfra.bench.cpu import cpu_delta, cpu_seconds
from devinfra.kafka import LocalKafka
from devinfra.postgres import LocalPostgres
from servicekit.kafka import client_options
from servicekit.service import RunningService
from servicekit.topics import ensure_topics
from services.activity import store
from services.activity.app import definition
from services.activity.config import ActivitySettings

TENANTS = 8
TOPICS = (GATEWAY_OUTCOMES, USERS_EVENTS)


def _records(run: str, count: int) -> list[tuple[str, bytes, bytes]]:
    now = datetime.now(UTC)
    published = []
    for index in range(count):
        tenant = f"{run}-t{index % TENANTS}"
        outcome = RequestOutcome(
            client=ClientKind.OKTA, method="GET", resource_type="User", status=200, duration_ms=1.0,
            name=f"user{index}@example.com",
        )  # fmt: skip
        profile = users.UserProfile(user_name=f"user{index}@example.com")
        user = users.UserRecord(id=f"u{index}", profile=profile, created=now, last_modified=now, version=1)
        for topic, message, key in (
            (GATEWAY_OUTCOMES, outcome, tenant),
            (USERS_EVENTS, users.UserCreated(user=user), f"{tenant}:u{index}"),
        ):
            envelope = wrap(message, tenant=tenant, producer="bench")
            published.append((topic, key.encode(), envelope.to_bytes()))
    return published


async def _publish(settings: ActivitySettings, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(**client_options(settings), acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key) for topic, key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _start_at_end(settings: ActivitySettings, name: str) -> None:
    """Commit the end of each topic for the service's consumer groups: it reads only what follows."""
    for topic in TOPICS:
        consumer = AIOKafkaConsumer(
            **client_options(settings), group_id=f"{name}.{topic}", enable_auto_commit=False
        )
        await consumer.start()
        try:
            # ensure_topics created them with this many partitions, and only them (a fresh broker).
            partitions = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            await consumer.commit({tp: await consumer.position(tp) for tp in partitions})
        finally:
            await consumer.stop()


def _recorded(running: RunningService, run: str) -> int:
    with Session(running.engine) as session:
        return sum(store.count(session, tenant=f"{run}-t{t}") for t in range(TENANTS))


async def _until_recorded(running: RunningService, run: str, total: int) -> None:
    while True:
        if await asyncio.to_thread(_recorded, running, run) >= total:
            return
        await asyncio.sleep(0.05)


def _roots(postgres: LocalPostgres) -> list[int]:
    """This process (the service, the Kafka broker it started) and the PostgreSQL server, which
    ``pg_ctl`` detached."""
    postmaster = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
    return [os.getpid(), postmaster]


async def _measure(
    settings: ActivitySettings, count: int, roots: list[int]
) -> tuple[float, dict[str, float]]:
    run, name = uuid4().hex[:8], f"activity-bench-{uuid4().hex[:8]}"
    await ensure_topics(settings, TOPICS)
    await _start_at_end(settings, name)
    await _publish(settings, _records(run, count))
    running = RunningService(replace(definition(settings), name=name), settings)
    before, started = cpu_seconds(roots), time.monotonic()
    await running.start()
    try:
        await _until_recorded(running, run, 2 * count)
        return time.monotonic() - started, cpu_delta(before, cpu_seconds(roots))
    finally:
        await running.stop()


def _row(database: str, batch: int, count: int, wall: float, used: dict[str, float]) -> str:
    records = 2 * count
    shares = " | ".join(
        f"{1000 * sum(v for k, v in used.items() if part in k) / records:.2f}"
        for part in ("batch_bench", "java", "postgres")
    )
    return f"| {database} | {batch} | {records} | {wall:.1f} | {records / wall:.0f} | {shares} |"


@contextmanager
def _kafka(bootstrap: str | None, scratch: Path) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    broker = LocalKafka(scratch / "kafka")
    broker.start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000, help="outcomes, and as many events")
    parser.add_argument("--batch", default="1,200", help="ACTIVITY_BATCH_MAX_RECORDS values")
    parser.add_argument("--kafka", help="bootstrap servers (default: a local broker)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="batch-bench-"))
    scratch.chmod(0o755)  # the postgres OS user enters it
    print("| database | batch | records | wall s | records/s | service CPU ms/record | Kafka | PostgreSQL |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    try:
        with _kafka(args.kafka, scratch) as bootstrap, LocalPostgres(scratch / "postgres") as server:
            for database in ("sqlite", "postgresql"):
                for batch in (int(size) for size in args.batch.split(",")):
                    url = (
                        f"sqlite:///{scratch / uuid4().hex}.db"
                        if database == "sqlite"
                        else server.url(f"bench_{uuid4().hex[:8]}")
                    )
                    os.environ.update(
                        KAFKA_BOOTSTRAP_SERVERS=bootstrap,
                        ACTIVITY_DATABASE_URL=url,
                        ACTIVITY_BATCH_MAX_RECORDS=str(batch),
                    )
                    wall, used = asyncio.run(_measure(ActivitySettings(), args.records, _roots(server)))
                    print(_row(database, batch, args.records, wall, used), flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
