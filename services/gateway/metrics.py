"""The gateway's Prometheus metrics on ``/metrics``: HTTP by route template and status
(prometheus-fastapi-instrumentator), Kafka (FastStream), requests refused per tenant, reply timeouts,
whether Kafka answers, unresolved dead letters per topic (read from Kafka and the gateway database at
each scrape).

``/metrics`` sits beside ``/livez``, off the SCIM and admin prefixes. It is unauthenticated unless
``GATEWAY_METRICS_TOKEN`` is set; either way it should not be exposed on the public listener.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Header
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_fastapi_instrumentator import Instrumentator
from scim2_models import UnauthorizedException

from contracts.channels import Kind, Process
from contracts.flows import DEAD_LETTER_SOURCES, FLOWS, UNANSWERED, Action
from servicekit.metrics import PREFIX, metrics_router
from services.gateway.config import GatewaySettings
from services.gateway.http.auth import bearer_token

log = logging.getLogger(__name__)

OPERATIONAL_PATHS = ["/metrics", "/livez", "/readyz", "/healthz"]

DEAD_LETTER_COUNT_SECONDS = 3.0
_ASKED = sorted(
    message.__name__
    for flow in FLOWS
    if flow.process is Process.GATEWAY and flow.action is Action.SEND
    if flow.channel.kind in (Kind.COMMANDS, Kind.QUERIES)
    for message in flow.messages
    if message not in UNANSWERED
)
"""Every command and query the gateway sends and waits for the answer to (``contracts/flows.py``)."""


UnresolvedDeadLetters = Callable[[], Awaitable[dict[str, int]]]


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.kafka_middleware = KafkaPrometheusMiddleware(registry=self.registry, app_name="gateway")
        self._refused = Counter(
            f"{PREFIX}_requests_refused",
            "SCIM requests refused per tenant: rate_limit (429), seat_limit (403), uniqueness (409).",
            ["tenant", "reason"],
            registry=self.registry,
        )
        self._reply_timeouts = Counter(
            f"{PREFIX}_gateway_reply_timeouts",
            "Requests answered 503 because the owning service did not reply in time, by message type.",
            ["message_type"],
            registry=self.registry,
        )
        for message_type in _ASKED:  # at 0 from the start, so the first timeouts raise the alert
            self._reply_timeouts.labels(message_type)
        self._dead_letters_unresolved = Gauge(
            f"{PREFIX}_dead_letters_unresolved",
            "Dead letters on <topic>.dlq neither replayed nor discarded, by original topic"
            " (every gateway instance reports the same numbers).",
            ["topic"],
            registry=self.registry,
        )
        for topic in DEAD_LETTER_SOURCES:  # at 0 from the start: "none" is not "no answer from the scrape"
            self._dead_letters_unresolved.labels(topic)
        self._kafka_reachable = Gauge(
            f"{PREFIX}_gateway_kafka_reachable",
            "1 while a Kafka broker answers this gateway's probe; 0 while every request is answered 503.",
            registry=self.registry,
        )
        self._kafka_reachable.set(1)
        self._activity_dropped = Counter(
            f"{PREFIX}_gateway_activity_dropped",
            "SCIM request outcomes not recorded in the activity log: the in-memory queue was full.",
            registry=self.registry,
        )
        self.activity_queued = Gauge(
            f"{PREFIX}_gateway_activity_queued",
            "SCIM request outcomes waiting in memory to be published to the activity log.",
            registry=self.registry,
        )
        self._producer_renewals = Counter(
            f"{PREFIX}_kafka_producer_renewals",
            "Kafka producers replaced because Kafka refused the previous one for good"
            " (OutOfOrderSequenceNumber, e.g. after every broker was down at once).",
            registry=self.registry,
        )
        self.unresolved_dead_letters: UnresolvedDeadLetters | None = None  # set once Kafka is reachable

    async def _before_scrape(self) -> None:
        if self.unresolved_dead_letters is None:
            return
        try:
            # Bounded: while Kafka does not answer, the scrape must still report the rest (and
            # roster_gateway_kafka_reachable) before the scraper's own timeout.
            async with asyncio.timeout(DEAD_LETTER_COUNT_SECONDS):
                counts = await self.unresolved_dead_letters()
        except Exception as error:  # a scrape still answers; the gauge keeps its last numbers
            log.warning("dead letters not counted for this scrape: %r", error)
            return
        for topic, count in counts.items():
            self._dead_letters_unresolved.labels(topic).set(count)

    def refused(self, *, tenant: str, reason: str) -> None:
        self._refused.labels(tenant, reason).inc()

    def reply_timed_out(self, message_type: str) -> None:
        self._reply_timeouts.labels(message_type).inc()

    def activity_dropped(self, count: int) -> None:
        self._activity_dropped.inc(count)

    def producer_renewed(self) -> None:
        self._producer_renewals.inc()

    def kafka_reachable(self, reachable: bool) -> None:
        self._kafka_reachable.set(1 if reachable else 0)

    def install(self, app: FastAPI, settings: GatewaySettings) -> None:
        """HTTP metrics for every route (by template: ``/scim/v2/Users/{user_id}``) and ``/metrics``."""
        instrumentator = Instrumentator(
            should_group_status_codes=False,
            should_ignore_untemplated=True,
            excluded_handlers=OPERATIONAL_PATHS,
            registry=self.registry,
        )
        instrumentator.instrument(app)
        token = settings.metrics_token

        async def scraper_allowed(authorization: Annotated[str | None, Header()] = None) -> None:
            if token is None:
                return
            sent = bearer_token(authorization) or ""  # the scheme in any case (RFC 7235 §2.1)
            if not hmac.compare_digest(sent.encode(), token.get_secret_value().encode()):
                raise UnauthorizedException(detail="Metrics credential missing or wrong.")

        router = metrics_router(self.registry, before_scrape=self._before_scrape)
        app.include_router(router, dependencies=[Depends(scraper_allowed)])
