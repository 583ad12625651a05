"""Structured logs: JSON lines off a terminal with the process's and the handled message's fields,
text with the same fields on a terminal, and the message processor's lines carrying the message's."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from contracts.envelope import Envelope, wrap
from contracts.seats import ReserveSeat
from servicekit import logs
from servicekit.handling import MessageProcessor
from servicekit.records import RawRecord


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def root_handlers() -> Iterator[None]:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_process_and_the_context_fields(root_handlers: None) -> None:
    stream = io.StringIO()
    logs.configure(service="users", instance="host:1", stream=stream)
    logging.getLogger("roster.test").info("outside")
    with logs.log_context(tenant="acme", correlation_id="c-1"):
        logs.annotate(message_id="m-1")
        logging.getLogger("roster.test").warning("inside %s", "here")
    outside, inside = _lines(stream)
    assert (
        outside["message"] == "outside" and outside["service"] == "users" and outside["instance"] == "host:1"
    )
    assert "tenant" not in outside
    assert inside["message"] == "inside here" and inside["level"] == "WARNING"
    assert (inside["tenant"], inside["correlation_id"], inside["message_id"]) == ("acme", "c-1", "m-1")
    assert "fields" not in inside


def test_times_are_rfc_3339_in_utc(root_handlers: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        stream = io.StringIO()
        logs.configure(service="users", instance="host:1", stream=stream)
        before = datetime.now(UTC)
        logging.getLogger("roster.test").info("when")
        [line] = _lines(stream)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    logged = datetime.fromisoformat(line["time"])
    assert abs((logged - before).total_seconds()) < 5


def test_what_aiokafka_retries_by_itself_is_a_warning_not_an_error(root_handlers: None) -> None:
    stream = io.StringIO()
    logs.configure(service="users", instance="host:1", stream=stream)
    logging.getLogger("aiokafka.consumer.fetcher").error(
        "Failed fetch offsets from 1: NotLeaderForPartitionError"
    )
    logging.getLogger("servicekit.handling").error("dead-lettering users.commands.v1[0]@3")
    kafka, ours = _lines(stream)
    assert (kafka["logger"], kafka["level"]) == ("aiokafka.consumer.fetcher", "WARNING")
    assert ours["level"] == "ERROR"


def test_a_terminal_gets_text_with_the_same_fields(root_handlers: None) -> None:
    stream = _Terminal()
    logs.configure(service="gateway", instance="gw0", stream=stream)
    with logs.log_context(tenant="acme", request_id="r-1"):
        logging.getLogger("roster.test").info("hello")
    line = stream.getvalue().strip()
    assert " gateway INFO roster.test: hello [tenant=acme request_id=r-1]" in line


def test_a_failing_message_is_logged_with_its_tenant_correlation_and_message_id(
    engine: Engine, root_handlers: None
) -> None:
    def broken(_session: Session, _envelope: Envelope, _payload: Any) -> list[Any]:
        raise RuntimeError("database on fire")

    stream = io.StringIO()
    logs.configure(service="seats", instance="host:2", stream=stream)
    processor = MessageProcessor(
        engine=engine, handlers={ReserveSeat: broken}, producer="seats", max_attempts=1
    )
    envelope = wrap(ReserveSeat(user_id="u1"), tenant="acme", producer="test")
    processor.process(RawRecord("seats.commands.v1", 0, 7, b"acme", envelope.to_bytes()))
    (dead,) = [line for line in _lines(stream) if line["message"].startswith("dead-lettering")]
    assert dead["tenant"] == "acme" and dead["service"] == "seats"
    assert dead["correlation_id"] == str(envelope.correlation_id)
    assert dead["message_id"] == str(envelope.message_id)
    assert dead["message_type"] == "ReserveSeat"
