"""The gateway process: wiring only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from faststream.kafka.annotations import KafkaMessage

from contracts.topics import gateway_reply_topic
from servicekit.db import create_tables, make_engine
from servicekit.kafka import MAX_MESSAGE_BYTES, delete_topics, ensure_topics, make_broker, raw_body
from services.gateway import admin, admin_seats, admin_teams, discovery, group_routes, root_search, routes
from services.gateway.config import GatewaySettings
from services.gateway.correlator import ReplyCorrelator, Requester, ServiceUnavailable
from services.gateway.errors import ScimProblem, install_scim_error_handlers, scim_error_response
from services.gateway.ratelimit import TenantRateLimiter
from services.gateway.store import GATEWAY_TABLES

log = logging.getLogger(__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = app.state.settings
    engine = make_engine(settings.resolved_database_url())
    create_tables(engine, GATEWAY_TABLES)
    reply_topic = gateway_reply_topic(settings.instance_id)
    # Only the reply topic is ours; the owners' topics are created by their owners with their settings.
    await ensure_topics(settings, [reply_topic], partitions=1)
    broker = make_broker(settings, client_id=f"gateway-{settings.instance_id}")
    correlator = ReplyCorrelator()

    async def on_reply(message: KafkaMessage) -> None:
        correlator.resolve(message.body)

    # No consumer group: this instance alone reads its reply topic, from its very beginning.
    broker.subscriber(
        reply_topic,
        auto_offset_reset="earliest",
        decoder=raw_body,
        max_partition_fetch_bytes=MAX_MESSAGE_BYTES,
    )(on_reply)
    await broker.start()
    app.state.engine = engine
    app.state.requester = Requester(
        broker=broker,
        correlator=correlator,
        reply_topic=reply_topic,
        timeout=settings.request_timeout_seconds,
    )
    log.info("gateway %s ready, replies on %s", settings.instance_id, reply_topic)
    try:
        yield
    finally:
        await broker.stop()
        await delete_topics(settings, [reply_topic])
        engine.dispose()


async def _on_unavailable(request: Request, error: Exception) -> Any:
    settings: GatewaySettings = request.app.state.settings
    log.warning("answering 503: %s", error)
    problem = ScimProblem(
        503,
        "Roster is temporarily unable to process this request. Please retry shortly.",
        headers={"Retry-After": str(settings.retry_after_seconds)},
    )
    return scim_error_response(problem)


async def _healthz() -> dict[str, str]:
    """Unauthenticated liveness for load balancers: answers once Kafka and the database are wired."""
    return {"status": "ok"}


async def _on_unexpected(_request: Request, error: Exception) -> Any:
    log.error("unexpected error: %r", error, exc_info=error)
    detail = "Roster hit an unexpected error. Please retry; if it persists, contact support."
    return scim_error_response(ScimProblem(500, detail))


def create_app(settings: GatewaySettings) -> FastAPI:
    app = FastAPI(title="Roster SCIM gateway", lifespan=_lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.rate_limiter = TenantRateLimiter(
        per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
    )
    install_scim_error_handlers(app)
    app.add_exception_handler(ServiceUnavailable, _on_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)
    app.include_router(routes.router)
    app.include_router(group_routes.router)
    app.include_router(root_search.router)
    app.include_router(discovery.router)
    app.include_router(admin.router)
    app.include_router(admin_seats.router)
    app.include_router(admin_teams.router)
    app.add_api_route("/healthz", _healthz, methods=["GET"], include_in_schema=False)
    return app


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(levelname)s %(message)s")
    settings = GatewaySettings()
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, access_log=False, log_level="warning"
    )


if __name__ == "__main__":
    main()
