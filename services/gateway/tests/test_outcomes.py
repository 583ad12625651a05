"""Each SCIM request's outcome for the activity log: recorded after the answer, from what the client
got; a full queue drops the record (counted) and never holds the answer back; published through a new
producer when Kafka refuses the old one for good, and a stop that cannot publish says what it lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from aiokafka.structs import ConsumerRecord
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from contracts.activity import ClientKind, RequestOutcome
from contracts.envelope import Envelope
from contracts.topics import GATEWAY_OUTCOMES, tenant_key
from devinfra.kafka import LocalKafka
from servicekit.kafka import make_broker, start_broker
from servicekit.topics import ensure_topics
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.http.correlator import ReplyCorrelator, Requester
from services.gateway.outcomes import OutcomePublisher, OutcomeQueue, Queued
from services.gateway.owners import Owners
from services.gateway.tests.database import gateway_database
from tests.kafka_client import Collector, break_producer_numbering, numbered_outcome

OKTA = {"User-Agent": "Okta SCIM Client 1.0.0"}


class Gateway:
    def __init__(self, tmp_path: Path, queue_size: int) -> None:
        engine, self.tenant_id, token = gateway_database(tmp_path)
        settings = GatewaySettings.model_validate(
            {
                "ROSTER_ADMIN_TOKEN": "x" * 40,
                "database_url": str(engine.url),
                "request_timeout_seconds": 1,
                "activity_queue_size": queue_size,
            }
        )
        self.app = create_app(settings)
        # No start-up (Kafka is not there): every question to a service fails at once, as a 503.
        self.app.state.engine = engine
        broker = make_broker(settings, client_id="outcomes-test")
        requester = Requester(broker=broker, correlator=ReplyCorrelator(), reply_topic="unused", timeout=1)
        self.app.state.owners = Owners.over(requester)
        self.client = TestClient(self.app, headers={"Authorization": f"Bearer {token}", **OKTA})
        self.engine = engine

    @property
    def queue(self) -> OutcomeQueue:
        queue: OutcomeQueue = self.app.state.outcome_queue
        return queue

    def queued(self) -> list[Queued]:
        return self.queue.drain()

    def metric(self, name: str) -> float:
        for line in generate_latest(self.app.state.metrics.registry).decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"{name} not exported")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    made = Gateway(tmp_path, queue_size=2)
    yield made
    made.engine.dispose()


def test_a_refused_request_is_recorded_with_the_detail_the_client_got(gateway: Gateway) -> None:
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@example.com"}
    answer = gateway.client.post("/scim/v2/Users", json={**body, "password": "secret-1!", "active": "maybe"})
    assert answer.status_code == 400
    [record] = gateway.queued()
    outcome = record.outcome
    assert record.tenant == gateway.tenant_id and outcome.client is ClientKind.OKTA
    assert (outcome.method, outcome.resource_type, outcome.status) == ("POST", "User", 400)
    assert (outcome.scim_type, outcome.detail) == (answer.json().get("scimType"), answer.json()["detail"])
    assert outcome.name == "ann@example.com"
    assert "secret-1!" not in RequestOutcome.model_dump_json(outcome)  # never a password or a body


def test_a_service_that_did_not_answer_is_a_failed_request_about_its_resource(gateway: Gateway) -> None:
    user_id = "0b9e7a52-4c1d-4f6e-9a38-2d5b7c1e8f40"
    answer = gateway.client.get(f"/scim/v2/Users/{user_id}", headers={"User-Agent": "curl/8"})
    assert answer.status_code == 503
    [record] = gateway.queued()
    assert (record.outcome.resource_id, record.outcome.status) == (user_id, 503)
    assert record.outcome.client is ClientKind.OTHER and record.outcome.detail == answer.json()["detail"]


def test_requests_without_a_tenant_are_not_recorded(gateway: Gateway) -> None:
    assert gateway.client.get("/scim/v2/Users", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert gateway.client.get("/livez").status_code == 200
    assert gateway.queued() == []


def test_a_full_queue_drops_the_record_counts_it_and_answers_as_usual(gateway: Gateway) -> None:
    answers = [gateway.client.get("/scim/v2/ServiceProviderConfig").status_code for _ in range(5)]
    assert answers == [200] * 5
    assert len(gateway.queue) == 2
    assert gateway.metric("roster_gateway_activity_dropped_total") == 3
    assert gateway.metric("roster_gateway_activity_queued") == 2
    assert [r.outcome.resource_type for r in gateway.queued()] == ["ServiceProviderConfig"] * 2


async def test_the_publisher_sends_every_queued_outcome_in_batches_and_flushes_at_stop(
    kafka_bootstrap: str,
) -> None:
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": "x" * 40, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    )
    await ensure_topics(settings, [GATEWAY_OUTCOMES])
    broker = make_broker(settings, client_id="outcomes-publisher-test")
    await start_broker(broker)
    tenant = uuid4().hex[:16]
    queue = OutcomeQueue(1000, lambda _dropped: None)
    publisher = OutcomePublisher(broker, queue, batch_size=100)
    try:
        async with Collector(kafka_bootstrap, GATEWAY_OUTCOMES) as collector:
            for number in range(250):  # three batches' worth
                queue.offer(Queued(tenant, uuid4(), numbered_outcome(number)))
            publisher.start()
            await collector.wait_for(lambda r: r.key == tenant.encode(), count=250)
            for number in range(250, 300):
                queue.offer(Queued(tenant, uuid4(), numbered_outcome(number)))
            await publisher.stop()  # what the task did not send yet, the stop sends
            arrived = await collector.wait_for(lambda r: r.key == tenant.encode(), count=300)
    finally:
        await broker.stop()
    assert len(queue) == 0
    envelopes = [Envelope.from_bytes(record.value) for record in arrived if record.value is not None]
    assert sorted(e.payload["duration_ms"] for e in envelopes) == [float(n) for n in range(300)]
    assert {(e.type, e.tenant, e.producer) for e in envelopes} == {("RequestOutcome", tenant, "gateway")}


async def test_a_batch_gathers_what_queues_within_its_window_and_no_longer() -> None:
    queue = OutcomeQueue(1000, lambda _dropped: None)
    first, second, late = (Queued("t", uuid4(), numbered_outcome(n)) for n in range(3))
    gathering = asyncio.create_task(queue.batch(100, gather_seconds=0.3))
    queue.offer(first)
    await asyncio.sleep(0.1)
    queue.offer(second)
    assert await gathering == [first, second]
    queue.published()
    queue.offer(late)
    assert await queue.batch(100) == [late]  # no window: what is there, at once


async def test_a_record_held_while_gathering_is_still_there_for_the_stop() -> None:
    queue = OutcomeQueue(1000, lambda _dropped: None)
    record = Queued("t", uuid4(), numbered_outcome(1))
    gathering = asyncio.create_task(queue.batch(100, gather_seconds=5))
    queue.offer(record)
    await asyncio.sleep(0.05)
    assert len(queue) == 1  # held, and still counted as queued
    gathering.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await gathering
    assert queue.drain() == [record]


def _is_outcome(record: ConsumerRecord[bytes, bytes]) -> bool:
    return dict(record.headers).get("message-type") == b"RequestOutcome"


async def _until_every(collector: Collector, expected: set[tuple[str, float]], *, seconds: float) -> None:
    """Until an outcome of each (tenant, duration) in ``expected`` arrived."""
    deadline = time.monotonic() + seconds
    while True:
        arrived = {
            (e.tenant, e.payload["duration_ms"])
            for e in (Envelope.from_bytes(r.value) for r in collector.records if _is_outcome(r) and r.value)
        }
        missing = expected - arrived
        if not missing:
            return
        assert time.monotonic() < deadline, f"{len(missing)} of {len(expected)} outcomes never arrived"
        await asyncio.sleep(0.1)


async def test_outcomes_go_through_a_new_producer_when_kafka_refuses_the_old_one_for_good(
    kafka_bootstrap: str,
) -> None:
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": "x" * 40, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    )
    await ensure_topics(settings, [GATEWAY_OUTCOMES])
    renewals: list[None] = []
    broker = make_broker(
        settings, client_id="outcomes-renewal-test", on_producer_renewed=lambda: renewals.append(None)
    )
    await start_broker(broker)
    queue = OutcomeQueue(1000, lambda _dropped: None)
    publisher = OutcomePublisher(broker, queue, batch_size=100)
    tenants = [uuid4().hex[:16] for _ in range(8)]
    try:
        async with Collector(kafka_bootstrap, GATEWAY_OUTCOMES) as collector:
            publisher.start()
            for tenant in tenants:  # the producer has written to each tenant's partition
                queue.offer(Queued(tenant, uuid4(), numbered_outcome(0)))
            keys = {tenant_key(tenant) for tenant in tenants}
            first = await collector.wait_for(lambda r: r.key in keys, count=len(tenants))
            partition = {record.key: record.partition for record in first}
            refused, other = (
                tenants[0],
                next(t for t in tenants if partition[tenant_key(t)] != partition[tenant_key(tenants[0])]),
            )
            await break_producer_numbering(broker, kafka_bootstrap, GATEWAY_OUTCOMES, tenant_key(refused))
            # One batch across both partitions: Kafka takes the other tenant's part, refuses the rest.
            for number in range(1, 21):
                queue.offer(Queued(refused, uuid4(), numbered_outcome(number)))
                queue.offer(Queued(other, uuid4(), numbered_outcome(number)))
            expected = {(tenant, float(n)) for tenant in (refused, other) for n in range(1, 21)}
            await _until_every(collector, expected, seconds=20)
            await publisher.stop()
    finally:
        await broker.stop()
    assert len(queue) == 0
    assert renewals == [None]
    message_ids: dict[tuple[str, float], set[UUID]] = defaultdict(set)
    for record in collector.records:
        if _is_outcome(record) and record.value and record.key in (tenant_key(refused), tenant_key(other)):
            envelope = Envelope.from_bytes(record.value)
            message_ids[(envelope.tenant, envelope.payload["duration_ms"])].add(envelope.message_id)
    # Sent again after a partial refusal, an outcome keeps its message id: the activity log shows it once.
    assert all(len(ids) == 1 for ids in message_ids.values()), message_ids


async def test_a_stop_while_kafka_does_not_answer_logs_how_many_outcomes_it_could_not_publish(
    spare_kafka: LocalKafka, caplog: pytest.LogCaptureFixture
) -> None:
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": "x" * 40, "KAFKA_BOOTSTRAP_SERVERS": spare_kafka.bootstrap_servers}
    )
    await ensure_topics(settings, [GATEWAY_OUTCOMES])
    broker = make_broker(settings, client_id="outcomes-stop-test")
    await start_broker(broker)
    queue = OutcomeQueue(1000, lambda _dropped: None)
    publisher = OutcomePublisher(broker, queue, batch_size=3)
    tenant = uuid4().hex[:16]
    try:
        await broker.publish(b"{}", GATEWAY_OUTCOMES, key=tenant_key(tenant))  # its partition's leader known
        with spare_kafka.paused(), caplog.at_level(logging.ERROR, logger="services.gateway.outcomes"):
            publisher.start()
            for number in range(5):
                queue.offer(Queued(tenant, uuid4(), numbered_outcome(number)))
            await asyncio.sleep(0.5)  # a batch of 3 taken and waiting on Kafka, 2 behind it
            assert len(queue) == 5
            await publisher.stop(flush_seconds=1)
    finally:
        await broker.stop()
    assert "5 of 5 queued activity outcomes not published before the gateway stopped" in caplog.text
