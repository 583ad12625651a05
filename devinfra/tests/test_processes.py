"""How ``make run`` says a process ended, and shows the last lines of its log."""

from __future__ import annotations

import io
import logging
import sys
import time
from pathlib import Path

import pytest

from devinfra.processes import ManagedProcess, SlowStop, how_it_ended, readable_log_line
from servicekit import logs


@pytest.mark.parametrize(
    ("returncode", "said"),
    [(-9, "killed by SIGKILL"), (-15, "killed by SIGTERM"), (3, "exit status 3"), (0, "exit status 0")],
)
def test_an_ended_process_is_named_by_its_signal_or_exit_status(returncode: int, said: str) -> None:
    assert how_it_ended(returncode) == said


def test_a_services_json_lines_read_as_one_line_each_with_a_tracebacks_last_line() -> None:
    written = io.StringIO()
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    logs.configure(service="users", instance="host:1", stream=written)
    try:
        log = logging.getLogger("servicekit.relay")
        log.warning("outbox relay failed; retrying every second")
        try:
            raise ZeroDivisionError("division by zero")
        except ZeroDivisionError:
            log.exception("gave up")
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    shown = [readable_log_line(line) for line in written.getvalue().splitlines()]
    assert [line.split(" ", 1)[1] for line in shown] == [
        "WARNING servicekit.relay: outbox relay failed; retrying every second",
        "ERROR servicekit.relay: gave up\n    ZeroDivisionError: division by zero",
    ]
    kafka = "[2026-12-05 07:00:00,000] INFO [KafkaServer id=1] started (kafka.server.KafkaServer)"
    assert readable_log_line(kafka) == kafka


_DEAF_TO_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('busy stopping', flush=True);"
    " time.sleep(60)"
)


def test_a_process_that_ignores_sigterm_is_killed_and_said_with_its_last_lines(tmp_path: Path) -> None:
    process = ManagedProcess(
        "deaf", [sys.executable, "-c", _DEAF_TO_SIGTERM], env={}, log_file=tmp_path / "log"
    )
    process.start()
    deadline = time.monotonic() + 30
    while "busy stopping" not in process.log_tail():
        assert time.monotonic() < deadline, process.log_tail()
        time.sleep(0.05)

    with pytest.warns(SlowStop, match=r"deaf did not stop within 1 s of SIGTERM[\s\S]*busy stopping"):
        process.stop(timeout=1)

    assert not process.alive()


def test_a_process_that_stops_on_sigterm_is_not_said(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    process = ManagedProcess(
        "prompt", [sys.executable, "-c", "import time; time.sleep(60)"], env={}, log_file=tmp_path / "log"
    )
    process.start()

    process.stop(timeout=10)

    assert not process.alive() and not [w for w in recwarn if issubclass(w.category, SlowStop)]
