"""Child processes for `make run` and the multi-process tests: start, wait ready, stop, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import FrameType
from typing import Self

import httpx


class Served(ABC):
    """A local server as a context manager: started on entry, stopped on exit."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class ProcessFailed(RuntimeError):
    pass


class SlowStop(UserWarning):
    """A process had to be killed: it did not stop by itself after SIGTERM."""


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived; raised in the main thread so `finally` blocks stop children."""


def _raise_stop_requested(_signum: int, _frame: FrameType | None) -> None:
    # `make` and `uv` forward the same Ctrl-C again: one orderly shutdown is enough.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise StopRequested


def stop_on_signals() -> None:
    signal.signal(signal.SIGINT, _raise_stop_requested)
    signal.signal(signal.SIGTERM, _raise_stop_requested)


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str],
        log_file: Path,
        cwd: Path | None = None,
        keep_log: bool = False,
    ) -> None:
        self.name = name
        # Append to the log rather than start it afresh: ``make run`` keeps the audit lines and the lines
        # a request id leads to across restarts; tests start afresh, since readiness may match lines.
        self.keep_log = keep_log
        self.cwd = cwd  # None: this process's; a checkout's own, to run its code (``-m`` imports from it)
        self.argv = argv
        self.env = dict(env)
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._terminated_at: float | None = None  # when SIGTERM was sent, if it was

    @classmethod
    def python_module(
        cls, name: str, module: str, *, env: Mapping[str, str], log_file: Path, keep_log: bool = False
    ) -> ManagedProcess:
        return cls(name, [sys.executable, "-m", module], env=env, log_file=log_file, keep_log=keep_log)

    def start(self) -> ManagedProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab" if self.keep_log else "wb")
        # Own session: a Ctrl-C in the terminal reaches only the parent, which stops children in order.
        self._process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.cwd,
        )
        self._terminated_at = None
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None, f"{self.name} was never started"
        return self._process.pid

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended, else None."""
        return None if self._process is None else self._process.poll()

    def terminate(self) -> None:
        """SIGTERM once, without waiting: a second one makes uvicorn skip its shutdown."""
        if self.alive() and self._terminated_at is None:
            assert self._process is not None
            self._process.send_signal(signal.SIGTERM)
            self._terminated_at = time.monotonic()

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self._process is not None
        self.terminate()
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            # A process that ignores SIGTERM is a defect an orchestrator would also meet (it kills
            # after its grace period): said, with what the process was doing, rather than hidden.
            sent = self._terminated_at if self._terminated_at is not None else time.monotonic() - timeout
            warnings.warn(
                f"{self.name} did not stop within {time.monotonic() - sent:.0f} s of SIGTERM and was killed;"
                f" its last log lines:\n{self.log_tail()}",
                SlowStop,
                stacklevel=2,
            )
            self.kill()

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        if self._process is not None and self.alive():
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)

    def log_tail(self, lines: int = 20) -> str:
        """The log's last lines as a person reads them: a service's JSON line as ``time level logger:
        message`` (with the last line of its traceback), any other line as it is (Kafka's)."""
        if not self.log_file.exists():
            return ""
        return "\n".join(
            map(readable_log_line, self.log_file.read_text(errors="replace").splitlines()[-lines:])
        )

    def check_alive(self) -> None:
        if not self.alive():
            ended = how_it_ended(self.returncode)
            raise ProcessFailed(f"{self.name} exited ({ended}); last log lines:\n{self.log_tail()}")


def readable_log_line(line: str) -> str:
    try:
        record = json.loads(line)
        shown = f"{record['time']} {record['level']} {record['logger']}: {record['message']}"
    except (ValueError, KeyError, TypeError):
        return line
    trace = record.get("exc_info")
    return (
        f"{shown}\n    {trace.strip().splitlines()[-1]}"
        if isinstance(trace, str) and trace.strip()
        else shown
    )


def how_it_ended(returncode: int | None) -> str:
    """``killed by SIGKILL`` or ``exit status 3`` (docs/operations.md gives each status its cause)."""
    if returncode is not None and returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit status {returncode}"


def stop_together(processes: Iterable[ManagedProcess], timeout: float = 20.0) -> None:
    """SIGTERM every one, then wait for each: stopping many costs the slowest, not the sum."""
    running = [process for process in processes if process.alive()]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout  # one wait for all: each gets what is left of it
    for process in running:
        process.stop(max(0.0, deadline - time.monotonic()))


def wait_for_http(
    url: str, *, process: ManagedProcess, headers: Mapping[str, str] | None = None, timeout: float = 60.0
) -> None:
    """Until ``url`` answers below 500 — or the process dies, which fails at once with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check_alive()
        try:
            if httpx.get(url, headers=dict(headers or {}), timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ProcessFailed(f"{process.name} not ready at {url} after {timeout:g}s:\n{process.log_tail()}")


def wait_for_log(process: ManagedProcess, text: str, *, timeout: float = 60.0) -> None:
    """Until ``text`` appears in the process's log — or the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check_alive()
        if process.log_file.exists() and text in process.log_file.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise ProcessFailed(f"{process.name} did not log {text!r} within {timeout:g}s:\n{process.log_tail()}")
