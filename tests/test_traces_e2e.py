"""Distributed traces: with an OTLP endpoint configured, one SCIM request is one trace across the
gateway, the users service and the seats service — through Kafka and through each outbox."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from contracts.topics import GATEWAY_REPLIES_PREFIX
from servicekit.tracing import CORRELATION_ID
from tests import okta
from tests.stack import Stack, create_tenant, own_stack

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    trace_id: str
    name: str
    attributes: dict[str, str]


class _Collector(BaseHTTPRequestHandler):
    """OTLP/HTTP's trace endpoint (protobuf), keeping every span it is sent on its server."""

    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            resource = {item.key: item.value.string_value for item in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {item.key: item.value.string_value for item in span.attributes}
                    service = resource["service.name"]
                    received = ReceivedSpan(service, span.trace_id.hex(), span.name, attributes)
                    with self.server.lock:
                        self.server.spans.append(received)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200 if self.path == "/v1/traces" else 404)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test's output is its assertions."""


class _Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Collector)
        self.lock = threading.Lock()
        self.spans: list[ReceivedSpan] = []

    def received(self) -> list[ReceivedSpan]:
        with self.lock:
            return list(self.spans)


@pytest.fixture(scope="module")
def receiver() -> Iterator[_Receiver]:
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def traced_stack(receiver: _Receiver, spare_kafka_bootstrap: str) -> Iterator[Stack]:
    """On the spare broker: the shared stack's services, untraced, would share the consumer groups."""
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    with own_stack(
        "roster-traced-", kafka_bootstrap=spare_kafka_bootstrap, services=["users", "seats"], env=traced
    ) as stack:
        yield stack


def _trace_of(receiver: _Receiver, request: str, services: set[str], *, within: float) -> list[ReceivedSpan]:
    """The spans of the trace begun by the gateway's span named ``request``, once it holds spans of
    every one of ``services`` and the gateway's processing of the reply (each process exports in its
    own batches)."""
    deadline = time.monotonic() + within
    while True:
        spans = receiver.received()
        for root in [span for span in spans if span.service == "gateway" and span.name == request]:
            in_trace = [span for span in spans if span.trace_id == root.trace_id]
            reply = [span for span in in_trace if span.name.startswith(GATEWAY_REPLIES_PREFIX)]
            if reply and services <= {span.service for span in in_trace}:
                return in_trace
        assert time.monotonic() < deadline, sorted({(span.service, span.name) for span in spans})
        time.sleep(0.2)


def test_one_scim_request_is_one_trace_across_the_processes(traced_stack: Stack, receiver: _Receiver) -> None:
    with traced_stack.admin() as admin:
        tenant = create_tenant(admin, "traced")
    gateway = f"http://127.0.0.1:{traced_stack.gateway_ports[0]}"
    assert httpx.get(f"{gateway}/livez", timeout=10).status_code == 200
    with httpx.Client(base_url=traced_stack.base_url, headers=tenant.auth, timeout=30) as scim:
        created = scim.post("/Users", json=okta.user_body("traced@example.com"))
    assert created.status_code == 201, created.text

    spans = _trace_of(receiver, "POST /scim/v2/Users", {"users", "seats"}, within=20)
    correlation_ids = {span.attributes.get(CORRELATION_ID) for span in spans if span.service != "gateway"}
    assert len(correlation_ids - {None}) == 1, correlation_ids  # one request, one correlation id
    assert not [span for span in receiver.received() if "livez" in span.name]
