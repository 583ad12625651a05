"""`make bench`: Okta-shaped SCIM create load against any server, and Roster beside scim2-server.

``load`` drives, per user, what Okta sends to create one: ``GET /Users?filter=userName eq "…"``
(expecting an empty ListResponse), then ``POST /Users`` with an Okta-shaped body. ``compare`` starts
the reference in-memory ``scim2-server`` and Roster in each shape (``--shapes``), runs the same load
against Roster and, right after each level, against the reference, and prints markdown tables side by
side, with the ratio and the server CPU per create flow (every Roster process, the Kafka brokers and
PostgreSQL, from /proc).
It prints numbers; it never judges them.

    python -m devinfra.bench load --base-url URL --token TOKEN [--users 300] [--concurrency 16]
                                  [--warmup 10] [--prefix P]
    python -m devinfra.bench compare [--users 300] [--concurrency 1,4,16,32] [--warmup 10]
                                     [--shapes default,production,production-2] [--profile DIR]
                                     [--settle 2500]
    python -m devinfra.bench interleave --tree NAME=DIR --tree NAME=DIR … [--users 300] [--warmup 10]
                                        [--block 10]

``interleave`` runs the default shape from each checkout at once and alternates the flows between them
at concurrency 1 (``interleaved.py``): a before/after comparison under the same machine load.

Exit status: 0, or 1 when some create flow did not complete (against Roster, for ``compare``), 2 when
a server did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from devinfra.bench import cpu
from devinfra.bench.cpu import cpu_delta, cpu_seconds, instrumentation_samples, profiled, top_frames
from devinfra.bench.interleaved import interleaved_load
from devinfra.bench.load import (
    LatencyStats,
    LoadResult,
    filter_url,
    format_result,
    load,
    okta_user,
)
from devinfra.bench.report import Measured, cpu_lines, machine_info, markdown_table, side_by_side
from devinfra.bench.servers import Target, roster_stack, scim2_server, shape

__all__ = [
    "LatencyStats",
    "LoadResult",
    "Target",
    "filter_url",
    "format_result",
    "load",
    "machine_info",
    "markdown_table",
    "okta_user",
    "roster_stack",
    "scim2_server",
]
DEFAULT_CONCURRENCIES = (1, 4, 16, 32)
DEFAULT_SETTLE = 2500
SETTLE_CONCURRENCY = 16
REFERENCE = "scim2-server"


def measure(target: Target, *, users: int, concurrency: int, warmup: int, profile: Path | None) -> Measured:
    print(f"loading {target.name} at concurrency {concurrency} …", file=sys.stderr, flush=True)
    tag = f"{target.name.replace(' ', '_').replace('(', '').replace(')', '')}-c{concurrency}"
    with profiled(target.roots(), profile, tag) as files:
        before = cpu_seconds(target.roots())
        run = load(target.base_url, target.token, users=users, concurrency=concurrency, warmup=warmup)
        result = asyncio.run(run)
        used = cpu_delta(before, cpu_seconds(target.roots()))
    print(format_result(result), file=sys.stderr, flush=True)
    profiles = {path: name for path, name in files.items() if path.exists()}
    for path in profiles:
        top = top_frames(path, limit=25, within=("services/", "servicekit/"))
        summary = "\n".join(f"{share:6.1%}  {frame}" for frame, share in top)
        path.with_suffix(".top.txt").write_text(summary + "\n")
        print(f"  profile {path} (top frames: {path.with_suffix('.top.txt')})", file=sys.stderr, flush=True)
    return Measured(result, used, instrumentation_of(profiles, used) if profiles else None)


def instrumentation_of(profiles: Mapping[Path, str], used: Mapping[str, float]) -> float:
    """Metrics and tracing as a share of all server CPU (brokers and PostgreSQL included, which have
    none): each process kind's share of its samples (all its instances' profiles together), weighted
    by the CPU that kind used. ``profiles``: each file with its process's ``cpu_seconds`` label."""
    samples: dict[str, tuple[int, int]] = {}
    for path, name in profiles.items():
        instrumented, total = instrumentation_samples(path)
        before = samples.get(name, (0, 0))
        samples[name] = (before[0] + instrumented, before[1] + total)
    spent = sum(used.get(name, 0.0) * n / total for name, (n, total) in samples.items() if total)
    everything = sum(used.values())
    return spent / everything if everything else 0.0


def settle(target: Target, flows: int) -> None:
    """Create flows that are not measured, once after a server starts: a JVM broker just started spends
    its first minutes of load compiling its hot paths (JIT). Its CPU per flow falls for about 2,000
    flows (15 → 5.5 ms at concurrency 16, BENCHMARKS.md); a running server did that long ago."""
    if flows:
        print(f"settling {target.name}: {flows} flows, not measured …", file=sys.stderr, flush=True)
        run = load(target.base_url, target.token, users=flows, concurrency=SETTLE_CONCURRENCY, warmup=0)
        asyncio.run(run)


def compare(
    *,
    users: int,
    concurrencies: Sequence[int],
    warmup: int,
    shapes: Sequence[str],
    profile: Path | None,
    settling: int = 0,
) -> dict[tuple[str, int], Measured]:
    """Each Roster shape at each concurrency, and scim2-server right after each of those levels; every
    process started here is stopped on the way out. Each shape gets a fresh stack, settled by
    ``settling`` unmeasured flows; the load of one level never overlaps another.

    scim2-server's rate moves with the machine far more than Roster's CPU per flow does (76 to 176
    users/s on one idle day, BENCHMARKS.md), so each ratio compares two measurements taken a minute
    apart, not a quarter of an hour: the reference runs from the start, and is loaded at a level's
    concurrency once the Roster stack just loaded has caught up (``wait_until_quiet``)."""
    runs: dict[tuple[str, int], Measured] = {}
    # Enough that the load measures creates, not refusals.
    seats = (users + warmup) * len(concurrencies) + settling
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp:
        workdir = Path(tmp)
        print("starting scim2-server …", file=sys.stderr, flush=True)
        with scim2_server(workdir, token=secrets.token_urlsafe(24)) as reference:
            settle(reference, settling)
            for name in shapes:
                print(f"starting Roster ({name}) …", file=sys.stderr, flush=True)
                with shape(name, workdir, seats=seats) as target:
                    settle(target, settling)
                    for c in concurrencies:
                        m = measure(target, users=users, concurrency=c, warmup=warmup, profile=profile)
                        runs[(target.name, c)] = m
                        wait_until_quiet(target)
                        runs[(reference_beside(target.name), c)] = measure(
                            reference, users=users, concurrency=c, warmup=warmup, profile=None
                        )
    return runs


def wait_until_quiet(target: Target) -> None:
    waited = cpu.wait_until_quiet(target.roots)
    print(f"{target.name} quiet after {waited:.0f} s", file=sys.stderr, flush=True)


def reference_beside(roster: str) -> str:
    """The name of scim2-server's measurements taken right after ``roster``'s, level by level."""
    return f"{REFERENCE} beside {roster}"


def command_line(args: argparse.Namespace) -> str:
    return (
        f"uv run python -m devinfra.bench compare --users {args.users}"
        f" --concurrency {','.join(map(str, args.concurrency))} --warmup {args.warmup}"
        f" --shapes {','.join(args.shapes)} --settle {args.settle}"
        + (f" --profile {args.profile}" if args.profile else "")
    )


def compare_report(runs: dict[tuple[str, int], Measured], args: argparse.Namespace) -> str:
    lines = [
        "## Okta-shaped user creates: Roster vs scim2-server",
        "",
        f"- Machine: {machine_info()}",
        f"- Command: `{command_line(args)}`",
        "- Server CPU ms/flow: every Roster process, Kafka broker and PostgreSQL process, per completed"
        " create flow (machine-independent; the load generator is not in it).",
        "",
    ]
    roster_names = list(dict.fromkeys(name for name, _ in runs if not name.startswith(REFERENCE)))
    for name in roster_names:
        beside = reference_beside(name)
        lines += [f"### {name}", "", side_by_side(runs, name, beside, args.concurrency), ""]
        lines += [*cpu_lines(runs, name, args.concurrency), *cpu_lines(runs, beside, args.concurrency), ""]
    return "\n".join(lines)


def interleave(*, trees: Mapping[str, Path], users: int, warmup: int, block: int) -> dict[str, Measured]:
    """Every tree's Roster started (one after the other) before any load, then the flows in turns. Each
    tree's server CPU is read over the whole measured phase: what its processes did in the other
    trees' turns (background work, idle polling) is its own too."""
    seats = users + warmup
    with tempfile.TemporaryDirectory(prefix="roster-bench-") as tmp, contextlib.ExitStack() as stacks:
        targets = {}
        for name, tree in trees.items():
            print(f"starting Roster from {tree} ({name}) …", file=sys.stderr, flush=True)
            targets[name] = stacks.enter_context(roster_stack(Path(tmp), seats=seats, name=name, tree=tree))
        print(f"loading {', '.join(targets)} in turns of {block} flows …", file=sys.stderr, flush=True)
        used: dict[str, dict[str, float]] = {}
        run = interleaved_load(
            targets, users=users, warmup=warmup, block=block, measuring=_server_cpu(targets, used)
        )
        results = asyncio.run(run)
    return {name: Measured(result, used[name]) for name, result in results.items()}


@contextlib.contextmanager
def _server_cpu(targets: Mapping[str, Target], into: dict[str, dict[str, float]]) -> Iterator[None]:
    before = {name: cpu_seconds(target.roots()) for name, target in targets.items()}
    yield
    for name, target in targets.items():
        into[name] = cpu_delta(before[name], cpu_seconds(target.roots()))
