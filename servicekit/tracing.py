"""Distributed traces (OpenTelemetry), off unless an OTLP endpoint is configured.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, a process gets
its own ``TracerProvider`` exporting over OTLP/HTTP in batches; the SDK reads the other standard
``OTEL_*`` variables itself (headers, sampler, batch delay). Without it there is no provider: the
instrumentation uses the API's no-op tracer. The provider is passed explicitly, never made global,
so tests may build many apps in one interpreter.

A trace crosses Kafka in the record's W3C ``traceparent`` header. Handlers never publish: what they
send waits in the outbox, so the header is written into the outbox row at enqueue time (the
handler's span is current then) and the relay publishes under it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, MutableMapping, Sequence

from fastapi import FastAPI
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
CORRELATION_ID = "roster.correlation_id"


def tracer_provider(process: str) -> TracerProvider | None:
    """The process's provider when an OTLP endpoint is configured, else None (no-op tracing).
    ``process``: the service name unless ``OTEL_SERVICE_NAME`` says otherwise."""
    if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return None
    # Imported only when tracing is on: the exporter pulls in protobuf and requests.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # An explicit service.name would win over OTEL_SERVICE_NAME in Resource.create.
    name = os.environ.get("OTEL_SERVICE_NAME") or process
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def shut_down(provider: TracerProvider | None) -> None:
    """Export what is still batched; at the end of the process."""
    if provider is not None:
        provider.shutdown()


def inject_current(headers: MutableMapping[str, str]) -> None:
    """Adds the current trace context (``traceparent``) to a message's headers; nothing without one."""
    propagate.inject(headers)


@contextlib.contextmanager
def continued_from(headers: Mapping[str, str]) -> Iterator[None]:
    """Makes the trace context stored with a message current, so publishing it continues that trace
    (FastStream's publish span and header are made from the current context)."""
    token = context.attach(propagate.extract(headers))
    try:
        yield
    finally:
        context.detach(token)


def note_correlation(correlation_id: object) -> None:
    """Tags the current span (a message's processing) with the request's correlation id, the key
    its log lines carry too; a no-op span when tracing is off."""
    trace.get_current_span().set_attribute(CORRELATION_ID, str(correlation_id))


def trace_requests(app: FastAPI, provider: TracerProvider | None, *, excluded_paths: Sequence[str]) -> None:
    """A span for each HTTP request, continuing a caller's ``traceparent``; nothing when tracing is off.
    ``excluded_paths`` (probes, scrapes) are matched at the end of the URL."""
    if provider is None:
        return
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=",".join(f"{path}$" for path in excluded_paths),
        exclude_spans=["receive", "send"],  # one span per request, not one per ASGI message
    )


def kafka_middleware(provider: TracerProvider | None) -> KafkaTelemetryMiddleware:
    """Spans for each publish and each message processed, and the ``traceparent`` header. Installed
    even when tracing is off: the no-op tracer still passes a received context on."""
    return KafkaTelemetryMiddleware(tracer_provider=provider)
