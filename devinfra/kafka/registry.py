"""The broker processes still running, so that none outlives the interpreter that started it:
stopped at exit, and killed by the kernel if the interpreter dies without running atexit."""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

_PR_SET_PDEATHSIG = 1

_RUNNING: dict[int, subprocess.Popen[bytes]] = {}
_RUNNING_LOCK = threading.Lock()
_atexit_registered = False


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def child_setup() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child die with this process, where that is safe."""
    prctl = _prctl()
    # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so it is only safe
    # from the main thread; elsewhere the atexit hook is the only safety net.
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return None

    def die_with_parent() -> None:
        # If Python is killed without running atexit (SIGKILL, default SIGTERM), the
        # kernel kills the broker too instead of leaving it running.
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return die_with_parent


def track(process: subprocess.Popen[bytes]) -> None:
    global _atexit_registered
    with _RUNNING_LOCK:
        _RUNNING[process.pid] = process
        if not _atexit_registered:
            atexit.register(_stop_all_at_exit)
            _atexit_registered = True


def untrack(process: subprocess.Popen[bytes]) -> None:
    with _RUNNING_LOCK:
        _RUNNING.pop(process.pid, None)


def signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop_processes(processes: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    """SIGTERM every process, wait up to ``timeout`` in total, then SIGKILL the rest."""
    for process in processes:
        if process.poll() is None:
            signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            signal_group(process, signal.SIGKILL)
            process.wait()
        untrack(process)


def _stop_all_at_exit() -> None:
    with _RUNNING_LOCK:
        processes = list(_RUNNING.values())
    stop_processes(processes, timeout=15.0)
