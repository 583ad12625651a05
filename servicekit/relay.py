"""The outbox relay: publishes what handlers committed, then marks it published.

Claim, publish and mark happen in one database transaction. On PostgreSQL, where several
instances of a service share a database, a transaction-scoped advisory lock lets one relay work
at a time, so messages about one resource leave in the order they were committed. A crash after
publishing but before marking re-publishes on restart: consumers are idempotent, so that is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from servicekit import locks
from servicekit.db import READ_ONLY
from servicekit.messaging import OutboxEntry, claim_unpublished, mark_published

log = logging.getLogger(__name__)

PublishBatch = Callable[[list[OutboxEntry]], Coroutine[Any, Any, None]]

RELAY_LOCK = "outbox relay"  # one per database: every instance of the service contends for it


class OutboxRelay:
    def __init__(
        self,
        *,
        engine: Engine,
        publish_batch: PublishBatch,
        batch_size: int = 500,
        idle_seconds: float = 0.5,
    ) -> None:
        self._engine = engine
        self._publish_batch = publish_batch
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        """Thread-safe nudge after a commit, so replies leave within milliseconds."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            try:
                published = await asyncio.to_thread(self._relay_one_batch)
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if published < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle_seconds)

    def _relay_one_batch(self) -> int:
        if self._engine.dialect.name == "postgresql":
            return self._relay_in_one_transaction()
        return self._relay_between_transactions()

    def _publish(self, rows: list[OutboxEntry]) -> None:
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
            rows = list(claim_unpublished(session, limit=self._batch_size))
            if rows:
                self._publish(rows)
                mark_published(session, ids=[row.id for row in rows if row.id is not None])
            return len(rows)

    def _relay_between_transactions(self) -> int:
        """SQLite: one process, and a transaction holds the only write lock — so never across the
        wait for Kafka's acknowledgements, which would stall every handler behind it. The claim only
        reads: a deferred (snapshot) transaction, which does not queue behind the handlers' writes."""
        with Session(self._engine, expire_on_commit=False) as session:
            session.connection(execution_options={READ_ONLY: True})
            rows = list(claim_unpublished(session, limit=self._batch_size))
            session.commit()  # ends the read; a rollback would expire the rows just read
        if rows:
            self._publish(rows)
            with Session(self._engine) as session, session.begin():
                mark_published(session, ids=[row.id for row in rows if row.id is not None])
        return len(rows)
