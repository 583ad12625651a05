"""The outbox relay: publishes what handlers committed, then marks it published.

On PostgreSQL, where several instances of a service share a database, claim, publish and mark happen
in one database transaction, and a transaction-scoped advisory lock lets one relay work at a time, so
messages about one resource leave in the order they were committed. On SQLite (one process) the relay
remembers how far it published and marks at most every ``mark_seconds``, or as soon as it has nothing
new. A crash after publishing but before marking re-publishes on restart: consumers are idempotent, so
that is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from servicekit import locks
from servicekit.db import READ_ONLY
from servicekit.messaging import OutboundRecord, claim_unpublished, mark_published, mark_published_through
from servicekit.repeated_failures import RepeatedFailures

log = logging.getLogger(__name__)

PublishBatch = Callable[[list[OutboundRecord]], Coroutine[Any, Any, None]]

RELAY_LOCK = "outbox relay"  # one per database: every instance of the service contends for it
_LAST_TURN_SECONDS = 5.0  # a stop waits this long for a publish under way (Kafka may be away)


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: Engine,
        publish_batch: PublishBatch,
        batch_size: int = 500,
        idle_seconds: float = 0.5,
        mark_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        self._publish_batch = publish_batch
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._mark_seconds = mark_seconds
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        # SQLite: the last row published but not marked yet, and since when (_relay_between_transactions).
        self._unmarked: tuple[int, float] | None = None

    def notify(self) -> None:
        """Thread-safe nudge after a commit, so replies leave within milliseconds."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        turn: asyncio.Future[int] | None = None
        failures = RepeatedFailures("outbox relay", log)
        try:
            while True:
                self._wake.clear()
                # Shielded: a stop does not end the turn's thread, so it waits for it (below).
                turn = asyncio.ensure_future(asyncio.to_thread(self._relay_one_batch))
                try:
                    published = await asyncio.shield(turn)
                except Exception:
                    failures.failed()
                    await asyncio.sleep(1.0)
                    continue
                failures.succeeded()
                if published < self._batch_size:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._idle_seconds)
        finally:
            await self._mark_on_the_way_out(turn)

    async def _mark_on_the_way_out(self, turn: asyncio.Future[int] | None) -> None:
        """Stopping: the turn under way may finish (briefly), then what was published is marked, so
        a restart does not publish it again."""
        if turn is not None and not turn.done():
            with contextlib.suppress(Exception):  # failed, or too slow: a restart publishes its rows
                await asyncio.wait_for(asyncio.shield(turn), timeout=_LAST_TURN_SECONDS)
        try:
            await asyncio.to_thread(self._mark_published_through)
        except Exception:
            log.exception("could not mark the published outbox rows; a restart publishes them again")

    def _relay_one_batch(self) -> int:
        if self._engine.dialect.name == "postgresql":
            return self._relay_in_one_transaction()
        return self._relay_between_transactions()

    def _publish(self, rows: list[OutboundRecord]) -> None:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._publish_batch(rows), self._loop)
        try:
            future.result(timeout=60)
        except BaseException:
            future.cancel()  # never let a publish outlive the claim on its rows
            raise

    def _relay_in_one_transaction(self) -> int:
        """PostgreSQL: several instances may share the database; the advisory lock, held for the
        whole claim → publish → mark, lets one relay work at a time. Row writes are not blocked."""
        with Session(self._engine) as session, session.begin():
            if not locks.try_hold(session, RELAY_LOCK):
                return 0
            rows = claim_unpublished(session, limit=self._batch_size)
            if rows:
                self._publish(rows)
                # By id, not "through the last one": PostgreSQL commits sequence values out of order,
                # so a lower id may still be uncommitted, unseen by this claim.
                mark_published(session, ids=[row.id for row in rows if row.id is not None])
            return len(rows)

    def _relay_between_transactions(self) -> int:
        """SQLite: one process, and a transaction holds the only write lock — so never across the
        wait for Kafka's acknowledgements, which would stall every handler behind it. The claim only
        reads: a deferred (snapshot) transaction, which does not queue behind the handlers' writes.

        Marking is a write transaction of its own, so it is coalesced: the relay claims only rows after
        the last one it published, and marks everything up to it once ``mark_seconds`` have passed or
        when it finds nothing new. Exact because SQLite has one writer: ids are assigned and committed
        in the same order, and while that last row waits unmarked (the purge never deletes it) every new
        row's id is above it. Once marked, the relay forgets it: SQLite may reuse the ids of rows the
        purge deleted."""
        if self._unmarked is not None and time.monotonic() - self._unmarked[1] >= self._mark_seconds:
            self._mark_published_through()  # first: due even while the next publish keeps failing
        with Session(self._engine) as session:
            session.connection(execution_options={READ_ONLY: True})
            after = self._unmarked[0] if self._unmarked else None
            rows = claim_unpublished(session, limit=self._batch_size, after=after)
            session.commit()  # ends the read
        if not rows:
            self._mark_published_through()
            return 0
        self._publish(rows)
        since = self._unmarked[1] if self._unmarked else time.monotonic()
        self._unmarked = (max(row.id for row in rows if row.id is not None), since)
        return len(rows)

    def _mark_published_through(self) -> None:
        if self._unmarked is None:
            return
        with Session(self._engine) as session, session.begin():
            mark_published_through(session, last_id=self._unmarked[0])
        self._unmarked = None
