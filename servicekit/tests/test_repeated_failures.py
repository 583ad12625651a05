"""A step retried every second while Kafka is away logs once, then once a minute, then its recovery."""

from __future__ import annotations

import logging

import pytest

from servicekit.repeated_failures import RepeatedFailures

log = logging.getLogger("roster.test.repeated")


def test_a_step_failing_try_after_try_logs_once_then_once_a_minute_then_its_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    failures = RepeatedFailures("outbox relay", log, clock=lambda: now[0])
    with caplog.at_level(logging.DEBUG, logger=log.name):
        for _ in range(150):
            try:
                raise ConnectionError("broker away")
            except ConnectionError:
                failures.failed()
            now[0] += 1.0
        failures.succeeded()
        failures.succeeded()  # nothing failed since: nothing to say
    said = [(record.levelname, record.getMessage()) for record in caplog.records]
    assert said == [
        ("ERROR", "outbox relay failed; retrying every second"),
        ("WARNING", "outbox relay still failing after 61 tries in 60 s; retrying"),
        ("WARNING", "outbox relay still failing after 121 tries in 120 s; retrying"),
        ("WARNING", "outbox relay working again after 150 failed tries in 150 s"),
    ]
    assert caplog.records[0].exc_info is not None  # the first one carries the error and where it came from


def test_a_new_outage_is_logged_as_new(caplog: pytest.LogCaptureFixture) -> None:
    failures = RepeatedFailures("publishing the activity outcomes", log, clock=lambda: 0.0)
    with caplog.at_level(logging.DEBUG, logger=log.name):
        for _ in range(2):
            try:
                raise TimeoutError
            except TimeoutError:
                failures.failed()
            failures.succeeded()
    assert [record.levelname for record in caplog.records] == ["ERROR", "WARNING", "ERROR", "WARNING"]
