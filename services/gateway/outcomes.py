"""Every SCIM request's outcome, for the activity log (``gateway.outcomes.v1``).

The gateway has no outbox for these: a record is put in a bounded in-memory queue after the answer is
sent, and a background task publishes the queue in batches. Nothing here can delay or fail a SCIM
answer: a full queue drops the record (``roster_gateway_activity_dropped_total``), and while Kafka does
not take a batch the task retries it while new records queue up behind it (a producer Kafka refuses for
good is replaced meanwhile, ``servicekit/producer_renewal.py``). A batch counts as queued until Kafka
took all of it. A stop publishes what is queued, briefly, and logs how many it could not; what a gateway
crash loses is what was still queued (docs/architecture.md, "The activity log").

Recorded: the tenant, the client kind from the User-Agent, method, resource type and id, the
userName or displayName the request named, status, scimType and the ``detail`` answered, the
correlation id of its Kafka conversation, and the duration. Never a body, a token or a password.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID, uuid4

from faststream.kafka import KafkaBroker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.activity import MAX_DETAIL_CHARS, MAX_NAME_CHARS, RequestOutcome, client_kind
from contracts.envelope import Envelope, wrap
from contracts.topics import GATEWAY_OUTCOMES, tenant_key
from servicekit.logs import current
from servicekit.repeated_failures import RepeatedFailures
from services.gateway.http.responses import SCIM_PREFIX

log = logging.getLogger(__name__)

NAME_STATE = "activity_name"  # set on the request's state by the SCIM routes (scim/context.py)
ID_STATE = "activity_resource_id"
_ERROR_BODY_BYTES = 16 * 1024  # a SCIM error is a few hundred bytes; a longer one is not parsed
_RESOURCES = {"Users": "User", "Groups": "Group"}
_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Queued:
    tenant: str
    correlation_id: UUID
    outcome: RequestOutcome

    @cached_property
    def envelope(self) -> Envelope:
        """Made once: a batch sent again after Kafka took part of it repeats the same message ids,
        which the activity service records once (its inbox, docs/architecture.md §3 rule 2)."""
        return wrap(self.outcome, tenant=self.tenant, producer="gateway", correlation_id=self.correlation_id)


class OutcomeQueue:
    """Bounded: ``offer`` never waits; a record that does not fit is dropped and counted."""

    def __init__(self, size: int, on_dropped: Callable[[int], None]) -> None:
        self._queue: asyncio.Queue[Queued] = asyncio.Queue(maxsize=size)
        self._held: list[Queued] = []  # taken by ``batch`` while it gathers more
        self._on_dropped = on_dropped

    def offer(self, record: Queued) -> None:
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            self._on_dropped(1)

    async def batch(self, most: int, *, gather_seconds: float = 0.0) -> list[Queued]:
        """At least one record (waiting for it), then what queues within ``gather_seconds``, up to
        ``most``. The batch stays held (counted, and drained by a stop) until ``published``."""
        self._held.append(await self._queue.get())
        if gather_seconds > 0 and self._queue.qsize() < most - 1:
            await asyncio.sleep(gather_seconds)  # cancelled (stopping): ``drain`` returns what is held
        while not self._queue.empty() and len(self._held) < most:
            self._held.append(self._queue.get_nowait())
        return list(self._held)

    def published(self) -> None:
        """Kafka took the held batch."""
        self._held = []

    def drain(self) -> list[Queued]:
        """Everything: the held batch, then the rest of the queue."""
        records, self._held = self._held, []
        while not self._queue.empty():
            records.append(self._queue.get_nowait())
        return records

    def __len__(self) -> int:
        return self._queue.qsize() + len(self._held)


class OutcomePublisher:
    """The background task: the queue's records to ``gateway.outcomes.v1``, a batch at a time."""

    def __init__(
        self, broker: KafkaBroker, queue: OutcomeQueue, *, batch_size: int, gather_seconds: float = 0.0
    ) -> None:
        """``gather_seconds``: after a record arrives, how long to let others join it. One produce
        request per record cost the gateway, the broker and the activity service a request each at
        low load (BENCHMARKS.md); nothing waits for these records."""
        self._broker = broker
        self._queue = queue
        self._batch_size = batch_size
        self._gather_seconds = gather_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="activity outcomes")

    async def stop(self, *, flush_seconds: float = 3.0) -> None:
        """Stop, then try once (briefly) to publish what is still queued, the batch being retried
        included: a clean stop loses nothing while Kafka answers, and says how much it lost when not."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        left = self._queue.drain()
        if not left:
            return
        sent: list[asyncio.Future[Any]] = []
        error: Exception | None = None
        try:
            async with asyncio.timeout(flush_seconds):
                await self._publish(left, sent)
        except Exception as failed:
            error = failed
        confirmed = sum(1 for f in sent if f.done() and not f.cancelled() and f.exception() is None)
        if confirmed < len(left):
            log.error(
                "%d of %d queued activity outcomes not published before the gateway stopped: the"
                " activity log lacks them (%r)",
                len(left) - confirmed,
                len(left),
                error,
            )

    async def _run(self) -> None:
        failures = RepeatedFailures("publishing the activity outcomes", log)
        while True:
            records = await self._queue.batch(self._batch_size, gather_seconds=self._gather_seconds)
            while True:
                try:
                    await self._publish(records)
                    break
                except Exception:  # Kafka away: retry this batch; new records queue (or drop)
                    failures.failed()
                    await asyncio.sleep(_RETRY_SECONDS)
            failures.succeeded()
            self._queue.published()

    async def _publish(self, records: list[Queued], sent: list[asyncio.Future[Any]] | None = None) -> None:
        """``sent``: where each record's pending publish is put, to tell which Kafka took."""
        sent = [] if sent is None else sent
        for record in records:
            envelope = record.envelope
            sent.append(
                await self._broker.publish(
                    envelope.to_bytes(),
                    GATEWAY_OUTCOMES,
                    key=tenant_key(record.tenant),
                    headers={"content-type": "application/json", "message-type": envelope.type},
                    no_confirm=True,
                )
            )
        await asyncio.gather(*sent)


def _resource(path: str) -> tuple[str, str | None]:
    """``/scim/v2/Users/<id>`` → ("User", id); ``/scim/v2/Schemas`` → ("Schemas", None)."""
    parts = path[len(SCIM_PREFIX) :].strip("/").split("/")
    resource = _RESOURCES.get(parts[0], parts[0][:32] or "/")
    resource_id = parts[1] if len(parts) > 1 and parts[1] != ".search" else None
    return resource, resource_id


def _error(body: bytes) -> tuple[str | None, str | None]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(parsed, dict):
        return None, None
    detail, scim_type = parsed.get("detail"), parsed.get("scimType")
    return (
        str(scim_type)[:64] if scim_type is not None else None,
        str(detail)[:MAX_DETAIL_CHARS] if detail is not None else None,
    )


def _header(scope: Scope, name: bytes) -> str:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name), "")


class OutcomeRecorder:
    """Pure ASGI middleware inside ``RequestContext`` (whose log fields name the tenant and the
    correlation id once the route learnt them). The record is queued after the answer was sent."""

    def __init__(self, app: ASGIApp, queue: OutcomeQueue) -> None:
        self._app = app
        self._queue = queue

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(SCIM_PREFIX + "/"):
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        status, error_body = 500, bytearray()

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif (
                message["type"] == "http.response.body"
                and status >= 400
                and len(error_body) < _ERROR_BODY_BYTES
            ):
                error_body.extend(message.get("body", b""))
            await send(message)

        try:
            await self._app(scope, receive, observed)
        finally:
            try:
                self._record(scope, state, status, bytes(error_body), started)
            except Exception:  # the answer is sent; a record that cannot be made is logged, not raised
                log.exception("activity outcome not recorded for %s %s", scope["method"], scope["path"])

    def _record(self, scope: Scope, state: dict[str, Any], status: int, body: bytes, started: float) -> None:
        tenant = current("tenant")
        if tenant is None:  # not authenticated: no tenant's log to file it in
            return
        resource, in_path = _resource(str(scope["path"]))
        resource_id = state.get(ID_STATE) or in_path
        scim_type, detail = _error(body) if status >= 400 and body else (None, None)
        name = state.get(NAME_STATE)
        outcome = RequestOutcome(
            client=client_kind(_header(scope, b"user-agent")),
            method=str(scope["method"])[:10],
            resource_type=resource,
            resource_id=str(resource_id)[:MAX_NAME_CHARS] if resource_id else None,
            name=str(name)[:MAX_NAME_CHARS] if name else None,
            status=status,
            scim_type=scim_type,
            detail=detail,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            request_id=(current("request_id") or "")[:128] or None,
        )
        correlation = current("correlation_id")
        self._queue.offer(Queued(tenant, UUID(correlation) if correlation else uuid4(), outcome))
