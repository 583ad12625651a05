"""The gateway process: wiring only."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import uvicorn
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from faststream.kafka.message import KafkaMessage

from contracts.topics import GATEWAY_OUTCOMES, dead_letter_topic, gateway_reply_topic
from servicekit import logs, migrations, tracing
from servicekit.closing import close_in_turn
from servicekit.db import make_engine, unreachable_as_refusal
from servicekit.head_requests import HeadAsGet
from servicekit.health_listener import CannotListen
from servicekit.kafka import MAX_MESSAGE_BYTES, make_broker, message_itself, start_broker
from servicekit.process import REFUSALS, exit_refused
from servicekit.topics import delete_topics, ensure_topics
from services.gateway import console, events_reference, health
from services.gateway.admin import (
    activity,
    dead_letters,
    default_manager,
    people,
    seats,
    teams,
    tenants,
    tokens,
)
from services.gateway.admin.access import openapi_document
from services.gateway.config import GatewaySettings
from services.gateway.dead_letter_desk import DeadLetterDesk
from services.gateway.dead_letters import DeadLetterReader
from services.gateway.http.correlator import ReplyCorrelator, Requester
from services.gateway.http.errors import UnexpectedErrors, install_scim_error_handlers
from services.gateway.http.head_limit import BoundedHeadProtocol
from services.gateway.http.kafka_watch import KafkaWatch
from services.gateway.http.known_tokens import KnownTokens
from services.gateway.http.ratelimit import TenantRateLimiter
from services.gateway.http.storable import EdgeRefusals
from services.gateway.http.turns import Turns
from services.gateway.metrics import OPERATIONAL_PATHS, GatewayMetrics
from services.gateway.outcomes import OutcomePublisher, OutcomeQueue, OutcomeRecorder
from services.gateway.owners import Owners
from services.gateway.rate_leases import DatabaseLease
from services.gateway.request_context import RequestContext
from services.gateway.schema import SCHEMA
from services.gateway.scim import discovery, search
from services.gateway.scim.groups import routes as groups
from services.gateway.scim.users import routes as users
from services.gateway.unanswered_creates import UnansweredCreates

log = logging.getLogger(__name__)

OUTCOME_BATCH = 500


def _subscribe_replies(
    broker: KafkaBroker, reply_topic: str, watch: KafkaWatch
) -> tuple[ReplyCorrelator, object]:
    correlator = ReplyCorrelator(on_reply=watch.saw_life)

    async def on_reply(message: KafkaMessage) -> None:
        try:
            correlator.resolve(message.body)
        finally:
            message.clear_cache()  # it holds the decoded value, the message itself: no cycle left to the GC

    # No consumer group: this instance alone reads its reply topic, from its very beginning.
    reply_subscriber = broker.subscriber(
        reply_topic,
        auto_offset_reset="earliest",
        decoder=message_itself,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )
    reply_subscriber(on_reply)
    return correlator, reply_subscriber


def _watch_kafka(broker: KafkaBroker, settings: GatewaySettings, metrics: GatewayMetrics) -> KafkaWatch:
    return KafkaWatch(
        partial(broker.ping, settings.kafka_probe_timeout_seconds),
        interval_seconds=settings.kafka_probe_interval_seconds,
        timeout_seconds=settings.kafka_probe_timeout_seconds,
        failures_to_trip=settings.kafka_probe_failures,
        on_change=metrics.kafka_reachable,
    )


async def _ensure_own_topics(settings: GatewaySettings, reply_topic: str) -> None:
    # Only the reply topic is ours; the owners' topics are created by their owners with their settings.
    await ensure_topics(settings, [reply_topic], partitions=1)
    # The activity log's record of each request: the gateway's own durable topic.
    await ensure_topics(settings, [GATEWAY_OUTCOMES, dead_letter_topic(GATEWAY_OUTCOMES)])


def _requester(
    broker: KafkaBroker,
    correlator: ReplyCorrelator,
    *,
    reply_topic: str,
    settings: GatewaySettings,
    metrics: GatewayMetrics,
    watch: KafkaWatch,
) -> Requester:
    return Requester(
        broker=broker,
        correlator=correlator,
        reply_topic=reply_topic,
        timeout=settings.request_timeout_seconds,
        on_timeout=metrics.reply_timed_out,
        kafka_reachable=lambda: watch.reachable,
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = app.state.settings
    engine = make_engine(settings.resolved_database_url())
    reply_topic = gateway_reply_topic(settings.instance_id)
    await _ensure_own_topics(settings, reply_topic)
    metrics: GatewayMetrics = app.state.metrics
    broker = make_broker(
        settings,
        client_id=f"gateway-{settings.instance_id}",
        middlewares=[tracing.kafka_middleware(app.state.tracer_provider), metrics.kafka_middleware],
        on_producer_renewed=metrics.producer_renewed,
    )
    watch = _watch_kafka(broker, settings, metrics)
    correlator, reply_subscriber = _subscribe_replies(broker, reply_topic, watch)
    await start_broker(broker)
    watch.start()
    outcomes = OutcomePublisher(
        broker,
        app.state.outcome_queue,
        batch_size=OUTCOME_BATCH,
        gather_seconds=settings.activity_gather_ms / 1000,
    )
    outcomes.start()
    app.state.engine = engine
    app.state.readiness_checks = health.readiness_checks(
        engine=engine, broker=broker, reply_subscriber=reply_subscriber
    )
    app.state.owners = Owners.over(
        _requester(
            broker, correlator, reply_topic=reply_topic, settings=settings, metrics=metrics, watch=watch
        )
    )
    reader = DeadLetterReader(settings)
    app.state.dead_letters = DeadLetterDesk(reader=reader, engine=engine, broker=broker)
    metrics.unresolved_dead_letters = app.state.dead_letters.unresolved_by_topic
    log.info("gateway %s ready, replies on %s", settings.instance_id, reply_topic)
    try:
        yield
    finally:
        log.info("gateway %s stopping", settings.instance_id)
        app.state.turns.close()
        await watch.stop()
        await outcomes.stop()  # bounded on its own: it says how many outcomes it could not publish
        await close_in_turn(
            [
                ("dead-letter reader", reader.close),
                ("Kafka clients", broker.stop),
                ("reply topic", partial(delete_topics, settings, [reply_topic])),
            ]
        )
        engine.dispose()
        tracing.shut_down(app.state.tracer_provider)
        log.info("gateway %s stopped", settings.instance_id)


def create_app(settings: GatewaySettings) -> FastAPI:
    app = FastAPI(title="Roster SCIM gateway", lifespan=_lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    rate, burst = settings.rate_limit_per_second, settings.rate_limit_burst
    # One budget per tenant for every instance, kept in the gateway database (known once started).
    lease = DatabaseLease(engine=lambda: app.state.engine, per_second=rate, burst=burst)
    app.state.rate_limiter = TenantRateLimiter(per_second=rate, burst=burst, lease=lease)
    app.state.known_tokens = KnownTokens(ttl_seconds=settings.token_cache_seconds)
    app.state.unanswered_creates = UnansweredCreates(engine=lambda: app.state.engine)
    app.state.turns = Turns(timeout_seconds=settings.request_timeout_seconds)
    install_scim_error_handlers(app)
    routers = (
        users,
        groups,
        search,
        discovery,
        tenants,
        tokens,
        seats,
        teams,
        default_manager,
        people,
        dead_letters,
        activity,
    )
    for module in routers:
        app.include_router(module.router)
    app.include_router(events_reference.router)
    console.install(app, settings)
    health.install(app)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    app.state.metrics = GatewayMetrics()
    app.state.metrics.install(app, settings)
    app.add_middleware(EdgeRefusals)
    app.state.tracer_provider = tracing.tracer_provider("gateway")
    tracing.trace_requests(app, app.state.tracer_provider, excluded_paths=OPERATIONAL_PATHS)
    app.state.outcome_queue = OutcomeQueue(settings.activity_queue_size, app.state.metrics.activity_dropped)
    app.state.metrics.activity_queued.set_function(lambda: len(app.state.outcome_queue))
    # Outside the metrics, so a HEAD counts under its route (as a GET). Traces, the activity log and the
    # request log see the method as sent; the activity log records no error detail for a HEAD, whose
    # answer has no body.
    app.add_middleware(HeadAsGet)
    # Inside RequestContext, whose log fields name the tenant and the correlation id it records.
    app.add_middleware(OutcomeRecorder, queue=app.state.outcome_queue)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(RequestContext)  # outermost: the request id and log fields cover everything
    return app


def _check_start(settings: GatewaySettings) -> None:
    """What would stop the gateway serving, checked before it listens, each refused in one line with
    its exit status (docs/operations.md, "Troubleshoot"): a database it cannot reach or one behind this
    code (``roster-migrate gateway``), then Kafka (its own topics made; made again, idempotently, when
    the app starts, as an app made in a test has no ``main``). A new database is created."""
    url = settings.resolved_database_url()
    with unreachable_as_refusal(url):
        engine = make_engine(url)
        try:
            migrations.ensure_ready(engine, SCHEMA)
        finally:
            engine.dispose()
    asyncio.run(_ensure_own_topics(settings, gateway_reply_topic(settings.instance_id)))


def server_options(host: str, port: int) -> dict[str, Any]:
    """How uvicorn serves the gateway (log_config=None: its lines as JSON through our handler, as in
    health_listener.py)."""
    return {"host": host, "port": port, "access_log": False, "log_level": "warning", "log_config": None,
            "http": BoundedHeadProtocol}  # fmt: skip


def main() -> None:
    settings = GatewaySettings()
    logs.configure(service="gateway", instance=settings.instance_id)
    try:
        _check_start(settings)
    except tuple(REFUSALS) as refusal:
        exit_refused("gateway", refusal)
    try:
        uvicorn.run(create_app(settings), **server_options(settings.host, settings.port))
    except SystemExit as stopped:  # uvicorn's start failed (it logged why): a refusal like the others
        if stopped.code in (None, 0):
            raise
        exit_refused(
            "gateway",
            CannotListen(f"cannot serve on {settings.host}:{settings.port} (the line before says why)"),
        )


if __name__ == "__main__":
    main()
