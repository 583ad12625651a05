"""`make bench`: Okta-shaped SCIM create load against any server, and Roster beside scim2-server.

``load`` drives, per user, what Okta sends to create one: ``GET /Users?filter=userName eq "…"``
(expecting an empty ListResponse), then ``POST /Users`` with an Okta-shaped body. ``compare`` starts
Roster (``roster-run``) and the reference in-memory ``scim2-server``, runs the same load against both
and prints a markdown table. It prints numbers; it never judges them.

    python -m devinfra.bench load --base-url URL --token TOKEN [--users 500] [--concurrency 16]
                                  [--warmup 10] [--prefix P]
    python -m devinfra.bench compare [--users 500] [--concurrency 16] [--warmup 10]

Exit status: 0, or 1 when some create flow did not complete, 2 when a server did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from devinfra.ports import free_ports
from devinfra.processes import (
    ManagedProcess,
    ProcessFailed,
    StopRequested,
    stop_on_signals,
    wait_for_http,
    wait_for_log,
)

CORE_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
OKTA_HEADERS = {
    "Accept": "application/scim+json",
    "Content-Type": "application/scim+json; charset=utf-8",
    "User-Agent": "Okta SCIM Client 1.0.0 (roster-bench)",
}
DEFAULT_USERS = 500
DEFAULT_CONCURRENCY = 16
DEFAULT_WARMUP = 10
ROSTER_START_TIMEOUT = 180.0
ROSTER_STOP_TIMEOUT = 90.0  # roster-run stops gateway, users and Kafka in turn, each with its own grace


# ---------------------------------------------------------------------------------------------- load


@dataclass(frozen=True)
class LatencyStats:
    """Latencies in milliseconds of every request that got an HTTP answer (nearest-rank percentiles)."""

    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, samples_s: Sequence[float]) -> LatencyStats:
        ordered = sorted(s * 1000.0 for s in samples_s)
        if not ordered:
            return cls(0, math.nan, math.nan, math.nan, math.nan)

        def rank(p: float) -> float:
            return ordered[max(0, math.ceil(p / 100.0 * len(ordered)) - 1)]

        return cls(len(ordered), rank(50), rank(95), rank(99), ordered[-1])


@dataclass(frozen=True)
class LoadResult:
    """One load run; warm-up flows are not in it."""

    base_url: str
    prefix: str
    users: int
    concurrency: int
    warmup: int
    completed: int  # flows whose GET found no match and whose POST answered 201
    elapsed_s: float
    client_cpu_s: float  # CPU this process (the load generator) used during the measured phase
    get: LatencyStats
    post: LatencyStats
    errors: dict[str, int]  # "GET 401", "POST 409", "POST ReadTimeout", "GET totalResults=1", …

    @property
    def users_per_s(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass
class _Recorder:
    get_s: list[float] = field(default_factory=list)
    post_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    completed: int = 0


def okta_user(user_name: str, index: int) -> dict[str, Any]:
    """A create body as Okta sends it (docs/scim-clients.md)."""
    given, family = f"Bench{index}", "Loadtest"
    return {
        "schemas": [CORE_URN, ENTERPRISE_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": f"00u{secrets.token_hex(8)}",
        "groups": [],
        "password": "Okta-Placeholder-1!",
        "active": True,
        "title": "Account Executive",
        ENTERPRISE_URN: {
            "department": "Sales",
            "employeeNumber": f"E-{index}",
            "manager": {"value": "00ubenchmanager"},
        },
    }


def filter_url(user_name: str) -> str:
    """The lookup Okta makes before a create, percent-encoded the way Okta encodes it."""
    condition = quote(f'userName eq "{user_name}"', safe="")
    return f"/Users?filter={condition}&startIndex=1&count=100"


async def _timed(
    client: httpx.AsyncClient, method: str, url: str, body: Mapping[str, Any] | None, rec: _Recorder
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.request(method, url, json=body)
    except httpx.HTTPError as error:
        rec.errors[f"{method} {type(error).__name__}"] += 1
        return None
    (rec.get_s if method == "GET" else rec.post_s).append(time.perf_counter() - started)
    if not response.is_success:
        rec.errors[f"{method} {response.status_code}"] += 1
    return response


async def _create_flow(client: httpx.AsyncClient, user_name: str, index: int, rec: _Recorder) -> None:
    found = await _timed(client, "GET", filter_url(user_name), None, rec)
    if found is None or not found.is_success:
        return
    total = found.json().get("totalResults")
    if total != 0:  # Okta would link to the match instead of creating
        rec.errors[f"GET totalResults={total}"] += 1
        return
    created = await _timed(client, "POST", "/Users", okta_user(user_name, index), rec)
    if created is not None and created.status_code == 201:
        rec.completed += 1
    elif created is not None and created.is_success:
        rec.errors[f"POST {created.status_code} (not 201)"] += 1


async def _drive(client: httpx.AsyncClient, names: Sequence[str], concurrency: int, rec: _Recorder) -> None:
    pending = iter(enumerate(names))  # shared by the workers: each takes the next user

    async def worker() -> None:
        for index, name in pending:
            await _create_flow(client, name, index, rec)

    async with asyncio.TaskGroup() as group:
        for _ in range(max(1, min(concurrency, len(names)))):
            group.create_task(worker())


def _client(base_url: str, token: str, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {**OKTA_HEADERS, "Authorization": f"Bearer {token}"}
    return httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits, timeout=60.0)


async def load(
    base_url: str,
    token: str,
    *,
    users: int = DEFAULT_USERS,
    concurrency: int = DEFAULT_CONCURRENCY,
    prefix: str | None = None,
    warmup: int = DEFAULT_WARMUP,
) -> LoadResult:
    """Create ``users`` users the way Okta does, ``concurrency`` flows at a time, after ``warmup`` more."""
    prefix = prefix or f"bench-{secrets.token_hex(4)}"
    names = [f"{prefix}.{i:06d}@example.com" for i in range(warmup + users)]
    async with _client(base_url.rstrip("/"), token, concurrency) as client:
        await _drive(client, names[:warmup], concurrency, _Recorder())
        rec = _Recorder()
        cpu, started = time.process_time(), time.perf_counter()
        await _drive(client, names[warmup:], concurrency, rec)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return LoadResult(
        base_url=base_url,
        prefix=prefix,
        users=users,
        concurrency=concurrency,
        warmup=warmup,
        completed=rec.completed,
        elapsed_s=elapsed,
        client_cpu_s=cpu,
        get=LatencyStats.of(rec.get_s),
        post=LatencyStats.of(rec.post_s),
        errors=dict(sorted(rec.errors.items())),
    )


def _latency_line(label: str, stats: LatencyStats) -> str:
    return (
        f"  {label:<5} n={stats.count:<6} p50={stats.p50_ms:8.1f}  p95={stats.p95_ms:8.1f}"
        f"  p99={stats.p99_ms:8.1f}  max={stats.max_ms:8.1f}  (ms)"
    )


def format_result(result: LoadResult) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in result.errors.items()) or "none"
    return "\n".join(
        [
            f"{result.base_url}  users={result.users} concurrency={result.concurrency}"
            f" warmup={result.warmup} prefix={result.prefix}",
            f"  completed {result.completed}/{result.users} create flows in {result.elapsed_s:.2f} s"
            f" = {result.users_per_s:.1f} users/s (load generator CPU {result.client_cpu_s:.2f} s)",
            _latency_line("GET", result.get),
            _latency_line("POST", result.post),
            f"  non-2xx / failed: {errors}",
        ]
    )


# ------------------------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    token: str
    process: ManagedProcess


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def scim2_server_path() -> Path:
    beside = Path(sys.executable).parent / "scim2-server"
    found = beside if beside.exists() else shutil.which("scim2-server")
    if found is None:
        raise ProcessFailed("scim2-server not found: it is in the dev dependency group (uv sync)")
    return Path(found)


@contextlib.contextmanager
def scim2_server(workdir: Path, *, token: str) -> Iterator[Target]:
    """The reference in-memory server on a free port, answering; stopped on the way out."""
    port = free_ports(1)[0]
    argv = [str(scim2_server_path()), "--port", str(port), "--bearer-token", token]
    process = ManagedProcess("scim2-server", argv, env=os.environ, log_file=workdir / "scim2-server.log")
    try:
        target = Target("scim2-server", f"http://127.0.0.1:{port}/v2", token, process.start())
        wait_for_http(f"{target.base_url}/Users?count=1", process=process, headers=_auth(token), timeout=30)
        yield target
    finally:
        process.stop()


@contextlib.contextmanager
def roster_stack(workdir: Path, *, seats: int) -> Iterator[Target]:
    """``roster-run`` (Kafka, users, seats, gateway, demo tenant with ``seats`` seats) on a free port;
    SIGTERM on the way out."""
    argv = [sys.executable, "-m", "devinfra.run", "--state-dir", str(workdir / "roster-state")]
    argv += ["--port", str(free_ports(1)[0]), "--demo-seats", str(seats)]
    process = ManagedProcess("roster-run", argv, env=os.environ, log_file=workdir / "roster-run.log")
    try:
        yield _roster_target(process.start())
    finally:
        process.stop(timeout=ROSTER_STOP_TIMEOUT)


def _roster_target(process: ManagedProcess) -> Target:
    wait_for_log(process, "SCIM_TOKEN=", timeout=ROSTER_START_TIMEOUT)
    output = process.log_file.read_text(errors="replace")
    base = re.search(r"^SCIM_BASE_URL=(\S+)$", output, re.MULTILINE)
    token = re.search(r"^SCIM_TOKEN=(\S+)$", output, re.MULTILINE)
    if base is None or token is None:
        raise ProcessFailed(f"roster-run printed no SCIM_BASE_URL/SCIM_TOKEN:\n{process.log_tail()}")
    target = Target("Roster", base.group(1), token.group(1), process)
    wait_for_http(f"{target.base_url}/Users?count=1", process=process, headers=_auth(target.token))
    return target


# --------------------------------------------------------------------------- CPU accounting (Linux)


def _process_tree(root: int) -> list[int]:
    """``root`` and its descendants, from /proc (empty where there is no /proc)."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
    return found


def _label(pid: int) -> str:
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    if "kafka.Kafka" in argv:
        return "kafka (java)"
    return Path(argv[0]).name


def cpu_seconds(root: int) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process of the tree under ``root``."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for pid in _process_tree(root):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[_label(pid)] = used.get(_label(pid), 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return used


def cpu_delta(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


# ------------------------------------------------------------------------------------------- report


def machine_info() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"nproc {cpus}, Python {platform.python_version()} ({platform.python_implementation()}),"
        f" {platform.system()} {platform.release()} {platform.machine()}"
    )


def command_line(users: int, concurrency: int, warmup: int) -> str:
    return (
        f"uv run python -m devinfra.bench compare --users {users}"
        f" --concurrency {concurrency} --warmup {warmup}"
    )


def _triple(stats: LatencyStats) -> str:
    return f"{stats.p50_ms:.1f} / {stats.p95_ms:.1f} / {stats.p99_ms:.1f}"


def markdown_table(results: Mapping[str, LoadResult]) -> str:
    rows: list[tuple[str, list[str]]] = [
        ("users/s (GET + POST flows)", [f"{r.users_per_s:.1f}" for r in results.values()]),
        ("POST p50 / p95 / p99 (ms)", [_triple(r.post) for r in results.values()]),
        ("GET p50 / p95 / p99 (ms)", [_triple(r.get) for r in results.values()]),
        ("POST / GET max (ms)", [f"{r.post.max_ms:.1f} / {r.get.max_ms:.1f}" for r in results.values()]),
        ("completed flows", [f"{r.completed}/{r.users}" for r in results.values()]),
        ("errors", [_errors_cell(r) for r in results.values()]),
    ]
    lines = ["| | " + " | ".join(results) + " |", "|---|" + "---:|" * len(results)]
    lines += [f"| {label} | " + " | ".join(cells) + " |" for label, cells in rows]
    return "\n".join(lines)


def _errors_cell(result: LoadResult) -> str:
    if not result.errors:
        return "0"
    return f"{result.error_count} (" + ", ".join(f"{k}: {v}" for k, v in result.errors.items()) + ")"


def _cpu_report(name: str, used: Mapping[str, float], elapsed_s: float) -> str:
    parts = [f"{label} {seconds:.1f} s" for label, seconds in sorted(used.items(), key=lambda kv: -kv[1])]
    return f"- {name} server-side CPU during the {elapsed_s:.1f} s run: " + (", ".join(parts) or "n/a")


# ------------------------------------------------------------------------------------------ commands


@dataclass(frozen=True)
class Measured:
    result: LoadResult
    server_cpu_s: dict[str, float]


def measure(target: Target, *, users: int, concurrency: int, warmup: int) -> Measured:
    print(f"loading {target.name} at {target.base_url} …", file=sys.stderr, flush=True)
    before = cpu_seconds(target.process.pid)
    result = asyncio.run(
        load(target.base_url, target.token, users=users, concurrency=concurrency, warmup=warmup)
    )
    print(format_result(result), file=sys.stderr, flush=True)
    return Measured(result, cpu_delta(before, cpu_seconds(target.process.pid)))


def compare(*, users: int, concurrency: int, warmup: int) -> dict[str, Measured]:
    """Roster and scim2-server side by side; every process started here is stopped on the way out."""
    measured: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        print("starting roster-run (Kafka, users, gateway) …", file=sys.stderr, flush=True)
        # Seats are enforced; enough of them that the load measures creates, not refusals.
        roster = stack.enter_context(roster_stack(workdir, seats=users + warmup))
        print("starting scim2-server …", file=sys.stderr, flush=True)
        reference = stack.enter_context(scim2_server(workdir, token=secrets.token_urlsafe(24)))
        for target in (roster, reference):
            measured[target.name] = measure(target, users=users, concurrency=concurrency, warmup=warmup)
        print("stopping servers …", file=sys.stderr, flush=True)
    return measured


def compare_report(measured: Mapping[str, Measured], *, users: int, concurrency: int, warmup: int) -> str:
    lines = [
        "## Okta-shaped user creates: Roster vs scim2-server",
        "",
        f"- Machine: {machine_info()}",
        f"- Command: `{command_line(users, concurrency, warmup)}`",
        "",
        markdown_table({name: m.result for name, m in measured.items()}),
        "",
    ]
    for name, m in measured.items():
        lines.append(_cpu_report(name, m.server_cpu_s, m.result.elapsed_s))
        lines.append(f"- {name} load generator (this process) CPU: {m.result.client_cpu_s:.1f} s")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devinfra.bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    load_cmd = commands.add_parser("load", help="Okta-shaped create load against one SCIM base URL")
    load_cmd.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000/scim/v2")
    load_cmd.add_argument("--token", required=True, help="the bearer token")
    load_cmd.add_argument("--prefix", help="userName prefix (default: bench-<random>)")
    compare_cmd = commands.add_parser(
        "compare", help="start Roster and scim2-server, load both, print a table"
    )
    for command in (load_cmd, compare_cmd):
        command.add_argument("--users", type=_positive, default=DEFAULT_USERS, help="measured create flows")
        command.add_argument("--concurrency", type=_positive, default=DEFAULT_CONCURRENCY)
        command.add_argument("--warmup", type=_non_negative, default=DEFAULT_WARMUP, help="flows not counted")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def _run_load(args: argparse.Namespace) -> list[LoadResult]:
    result = asyncio.run(
        load(
            args.base_url,
            args.token,
            users=args.users,
            concurrency=args.concurrency,
            prefix=args.prefix,
            warmup=args.warmup,
        )
    )
    print(format_result(result), flush=True)
    return [result]


def _run_compare(args: argparse.Namespace) -> list[LoadResult]:
    stop_on_signals()
    sizes = {"users": args.users, "concurrency": args.concurrency, "warmup": args.warmup}
    measured = compare(**sizes)
    print(compare_report(measured, **sizes), flush=True)
    return [m.result for m in measured.values()]


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status 1 when some flow did not complete (the numbers then measure something else)."""
    args = _parser().parse_args(argv)
    try:
        results = _run_load(args) if args.command == "load" else _run_compare(args)
    except (StopRequested, KeyboardInterrupt):
        print("interrupted; every process started here was stopped", file=sys.stderr)
        return 130
    except ProcessFailed as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    incomplete = [r.base_url for r in results if r.completed < r.users]
    for base_url in incomplete:
        print(f"bench: some create flows against {base_url} failed (see errors)", file=sys.stderr)
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
