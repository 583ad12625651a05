"""Running an outbox relay in a test, writing rows to its outbox and waiting on what it marks: shared by
the relay tests (``test_relay.py``, ``test_relay_marks.py``). Their broker fixtures (``settings``,
``publish_batch``) are in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from servicekit.messaging import OutboxEntry, enqueue
from servicekit.relay import OutboxRelay, PublishBatch


@contextlib.asynccontextmanager
async def relaying(
    engine: Engine, publish_batch: PublishBatch, **options: float
) -> AsyncIterator[OutboxRelay]:
    options = {"idle_seconds": 0.1, **options}
    relay = OutboxRelay(engine=engine, publish_batch=publish_batch, **options)  # type: ignore[arg-type]
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _enqueue(engine: Engine, rows: list[tuple[str, bytes]]) -> None:
    """One transaction, as one handler's messages."""
    with Session(engine) as session, session.begin():
        for topic, value in rows:
            enqueue(session, topic=topic, key=b"same-key", value=value)


def _outbox(engine: Engine) -> list[OutboxEntry]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id))))


async def _until(condition: Callable[[], bool], *, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.1)


def _all_published(engine: Engine) -> Callable[[], bool]:
    return lambda: all(row.published_at is not None for row in _outbox(engine))
