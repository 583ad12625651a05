"""Structured logs: every line carries the process's ``service`` and ``instance`` and, while a request
or a message is being handled, its ``tenant``, ``request_id``, ``correlation_id`` and ``message_id``.

JSON lines (python-json-logger) when stderr is not a terminal, as under a container runtime or a
log shipper; readable text with ``key=value`` fields on a terminal. The fields live in a context
variable; asyncio tasks and ``asyncio.to_thread`` copy it, so a handler in a worker thread logs with
the fields of the message it handles. Messages and bodies are never logged whole: they may hold
tokens, passwords or personal data.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = ("tenant", "request_id", "correlation_id", "message_id")

_fields: ContextVar[dict[str, str] | None] = ContextVar("roster_log_fields", default=None)


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[dict[str, str]]:
    """Adds ``fields`` to every line logged inside; yields the (mutable) fields of this scope."""
    scope = {**(_fields.get() or {}), **{name: str(value) for name, value in fields.items()}}
    token = _fields.set(scope)
    try:
        yield scope
    finally:
        _fields.reset(token)


def annotate(**fields: object) -> None:
    """Adds ``fields`` to the current scope in place: FastAPI runs sync dependencies (which learn the
    tenant) in a copied context, where a new scope would be lost on return; the scope object is shared."""
    scope = _fields.get()
    if scope is not None:
        scope.update({name: str(value) for name, value in fields.items()})


def current(field: str) -> str | None:
    return (_fields.get() or {}).get(field)


class _ContextFilter(logging.Filter):
    def __init__(self, process_fields: dict[str, str]) -> None:
        super().__init__()
        self._process_fields = process_fields

    def filter(self, record: logging.LogRecord) -> bool:
        scope = _fields.get() or {}
        for name, value in {**self._process_fields, **scope}.items():
            setattr(record, name, value)
        record.fields = " ".join(f"{name}={value}" for name, value in scope.items())
        return True


class _Utc:
    """Times as RFC 3339 in UTC (``2026-12-04T18:56:01.289Z``): one form whatever the host's zone, which
    log shippers read without a pattern and sort as text."""

    converter = staticmethod(time.gmtime)
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format: str | None = "%s.%03dZ"


class _UtcJsonFormatter(_Utc, JsonFormatter):
    pass


class _RetriedKafkaErrors(logging.Filter):
    """aiokafka logs at ERROR what it retries by itself: a leader moving, a group coordinator not
    elected yet (every start of a fresh broker), a fetch timing out. Such lines are WARNING here, so an
    alert on ERROR fires for Roster's own judgement — the gateway's "Kafka unreachable", a dead letter,
    a start refused — and not on every deploy; readiness and the outbox age say when Kafka stays away."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and record.name.startswith("aiokafka"):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class _TextFormatter(_Utc, logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", "")
        return f"{line} [{fields}]" if fields else line


def default_instance() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def configure(
    *, service: str, instance: str, stream: TextIO | None = None, level: int = logging.INFO
) -> None:
    """The root logger's one handler, for a process's ``main``."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.addFilter(_ContextFilter({"service": service, "instance": instance}))
    handler.addFilter(_RetriedKafkaErrors())
    formatter: logging.Formatter
    if stream.isatty():
        formatter = _TextFormatter(f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s")
    else:
        formatter = _UtcJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(instance)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, "fields"],  # the text form's summary
        )
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler], force=True)
