"""Server CPU from /proc (Linux), and py-spy profiles of the Python server processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc (empty where there is no /proc)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return found


def label(pid: int) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    if "kafka.Kafka" in argv:
        return "kafka (java)"
    if Path(argv[0]).name == "postgres" or argv[0].startswith("postgres:"):
        return "postgres"
    return Path(argv[0]).name


def cpu_seconds(roots: Iterable[int]) -> dict[str, float]:
    """CPU seconds (user + system, and of children already reaped, such as PostgreSQL backends that
    ended) used so far by every process of the trees under ``roots``, summed per label."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for root in roots:
        for pid in process_tree(root):
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                name = label(pid)
                used[name] = used.get(name, 0.0) + sum(int(f) for f in fields[11:15]) / ticks
    return used


def cpu_delta(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


QUIET_CORES = 0.4
"""A stack using less CPU than this is idle: the default one doing nothing uses ~0.13 of a core, the
production one (three brokers, PostgreSQL, two users instances) a little more."""


def wait_until_quiet(roots: Callable[[], Iterable[int]], *, most_seconds: int = 60) -> float:
    """Wait until the processes under ``roots()`` use less than ``QUIET_CORES`` over a second — what a
    load left queued (events, the activity log, the relays) is handled — or ``most_seconds`` passed;
    returns the seconds waited."""
    started = time.monotonic()

    def each_second() -> Iterator[float]:
        while True:
            yield sum(cpu_seconds(roots()).values())
            time.sleep(1.0)

    seconds_until_quiet(each_second(), most=most_seconds)
    return time.monotonic() - started


def seconds_until_quiet(readings: Iterable[float], *, most: int) -> int:
    """Of readings of CPU seconds used so far, one a second: how many seconds passed when a second
    first used less than ``QUIET_CORES`` (``most`` if none did by then)."""
    previous: float | None = None
    for second, used in enumerate(readings):
        if previous is not None and used - previous < QUIET_CORES:
            return second
        if second >= most:
            break
        previous = used
    return most


def python_servers(roots: Iterable[int]) -> dict[int, str]:
    """The Roster service processes (``python -m services.…``) under ``roots``: pid → label."""
    found: dict[int, str] = {}
    for root in roots:
        for pid in process_tree(root):
            with contextlib.suppress(OSError):
                if label(pid).startswith("services."):
                    found[pid] = label(pid)
    return found


def py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


@contextlib.contextmanager
def profiled(roots: Iterable[int], out_dir: Path | None, tag: str) -> Iterator[dict[Path, str]]:
    """py-spy (``--nonblocking``: the servers are never paused) on every Roster Python process while
    the block runs; yields the collapsed-stack files it writes (``<tag>-<label>-<pid>.txt``), each with
    the label of the process it profiles (its ``cpu_seconds`` key)."""
    if out_dir is None:
        yield {}
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    running: list[subprocess.Popen[bytes]] = []
    files: dict[Path, str] = {}
    for pid, name in python_servers(roots).items():
        path = out_dir / f"{tag}-{name.removeprefix('services.')}-{pid}.txt"
        argv = [py_spy(), "record", "--nonblocking", "--full-filenames", "--format", "raw", "--pid", str(pid)]
        argv += ["-o", str(path)]
        running.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        files[path] = name
    try:
        yield files
    finally:
        for spy in running:  # SIGINT: py-spy writes its file and exits
            with contextlib.suppress(ProcessLookupError):
                spy.send_signal(signal.SIGINT)
        for spy in running:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()


def top_frames(collapsed: Path, *, limit: int = 15, within: tuple[str, ...] = ()) -> list[tuple[str, float]]:
    """The functions most often on the stack (inclusive share of samples) in a py-spy raw file, line
    numbers dropped; only those defined in files under ``within`` when it is given."""
    total, inclusive = 0, Counter[str]()
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        frames = {re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")}
        for frame in frames:
            if not within or any(f"/{prefix}" in frame or f"({prefix}" in frame for prefix in within):
                inclusive[frame] += int(count)
    return [(frame, n / total) for frame, n in inclusive.most_common(limit)] if total else []


# Where metrics and tracing run: the libraries, FastStream's middlewares for them, and Roster's own.
INSTRUMENTATION = (
    "prometheus_client/",
    "opentelemetry/",
    "faststream/prometheus/",
    "faststream/opentelemetry/",
    "servicekit/metrics.py",
    "servicekit/tracing.py",
    "services/gateway/metrics.py",
)
# What the instrumentation calls to do its work (the OTLP exporter encodes with protobuf and sends
# with requests); a sample there belongs to whoever called it, like one in the standard library.
INSTRUMENTATION_DEPENDENCIES = ("google/protobuf/", "requests/", "urllib3/", "wrapt/", "deprecated/")


def _file_of(frame: str) -> str:
    return frame.rpartition("(")[2]


def _is_standard_library(path: str) -> bool:
    """Files as py-spy names them with ``--full-filenames`` (absolute, or ``<frozen runpy>``), or without
    it (relative to a ``sys.path`` entry: ``asyncio/tasks.py``, ``threading.py``)."""
    file = path.rsplit(":", 1)[0]
    if file.startswith("<"):
        return True
    if file.startswith("/"):
        return "/lib/python3" in file and "-packages/" not in file
    return file.split("/", 1)[0].removesuffix(".py") in sys.stdlib_module_names


def _borrowed(path: str) -> bool:
    return _is_standard_library(path) or any(
        f"/{d}" in path or path.startswith(d) for d in INSTRUMENTATION_DEPENDENCIES
    )


def instrumentation_samples(collapsed: Path) -> tuple[int, int]:
    """(samples spent in metrics and tracing themselves, all samples) of a profile: a sample counts
    when its deepest frame outside the standard library and the instrumentation's own dependencies is
    instrumentation code. A middleware that
    wraps a handler is on every stack beneath it, so "on the stack" would count the handler's work."""
    total = instrumented = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        owners = [file for file in map(_file_of, stack.split(";")) if not _borrowed(file)]
        if owners and any(marker in owners[-1] for marker in INSTRUMENTATION):
            instrumented += int(count)
    return instrumented, total


def instrumentation_share(collapsed: Path) -> float:
    instrumented, total = instrumentation_samples(collapsed)
    return instrumented / total if total else 0.0
