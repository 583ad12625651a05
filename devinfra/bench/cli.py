"""The command line of ``python -m devinfra.bench`` (the package's docstring says what each command does)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import devinfra.bench
from devinfra.bench import (
    DEFAULT_CONCURRENCIES,
    DEFAULT_SETTLE,
    REFERENCE,
    compare,
    compare_report,
    interleave,
)
from devinfra.bench.interleaved import parse_tree
from devinfra.bench.load import DEFAULT_USERS, DEFAULT_WARMUP, LoadResult, format_result, load
from devinfra.bench.report import cpu_lines, machine_info, markdown_table
from devinfra.bench.servers import SHAPES
from devinfra.processes import ProcessFailed, StopRequested, stop_on_signals


def _tree(text: str) -> tuple[str, Path]:
    try:
        return parse_tree(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _csv_ints(text: str) -> list[int]:
    values = [int(part) for part in text.split(",") if part.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def _csv_shapes(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [v for v in values if v not in SHAPES]
    if not values or unknown:
        raise argparse.ArgumentTypeError(f"shapes from {', '.join(SHAPES)}")
    return values


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devinfra.bench",
        description=devinfra.bench.__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    load_cmd = commands.add_parser("load", help="Okta-shaped create load against one SCIM base URL")
    load_cmd.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000/scim/v2")
    load_cmd.add_argument("--token", required=True, help="the bearer token")
    load_cmd.add_argument("--prefix", help="userName prefix (default: bench-<random>)")
    load_cmd.add_argument("--concurrency", type=_count(1), default=16)
    compare_cmd = commands.add_parser(
        "compare", help="start Roster and scim2-server, load both, print tables"
    )
    compare_cmd.add_argument("--concurrency", type=_csv_ints, default=list(DEFAULT_CONCURRENCIES))
    compare_cmd.add_argument("--shapes", type=_csv_shapes, default=list(SHAPES), help=", ".join(SHAPES))
    compare_cmd.add_argument("--profile", type=Path, help="py-spy every Roster process; raw stacks here")
    compare_cmd.add_argument(
        "--settle", type=_count(0), default=DEFAULT_SETTLE, help="unmeasured flows after each server starts"
    )
    interleave_cmd = commands.add_parser(
        "interleave", help="Roster from several checkouts at once, loaded in turns at concurrency 1"
    )
    interleave_cmd.add_argument("--tree", type=_tree, action="append", required=True, help="NAME=DIR")
    interleave_cmd.add_argument("--block", type=_count(1), default=10, help="flows per turn")
    for command in (load_cmd, compare_cmd, interleave_cmd):
        command.add_argument("--users", type=_count(1), default=DEFAULT_USERS, help="measured create flows")
        command.add_argument("--warmup", type=_count(0), default=DEFAULT_WARMUP, help="flows not counted")
    return parser


def _run_load(args: argparse.Namespace) -> list[LoadResult]:
    run = load(
        args.base_url,
        args.token,
        users=args.users,
        concurrency=args.concurrency,
        prefix=args.prefix,
        warmup=args.warmup,
    )
    result = asyncio.run(run)
    print(format_result(result), flush=True)
    return [result]


def _run_compare(args: argparse.Namespace) -> list[LoadResult]:
    stop_on_signals()
    runs = compare(
        users=args.users,
        concurrencies=args.concurrency,
        warmup=args.warmup,
        shapes=args.shapes,
        profile=args.profile.resolve() if args.profile else None,
        settling=args.settle,
    )
    print(compare_report(runs, args), flush=True)
    for (name, c), m in runs.items():
        if name.startswith(REFERENCE) and m.result.completed < m.result.users:
            # Its wsgiref server listens with a backlog of 5 (BENCHMARKS.md, Observations).
            print(f"bench: {name} lost flows at concurrency {c}: {m.result.errors}", file=sys.stderr)
    # Roster's decide the status.
    return [m.result for (name, _), m in runs.items() if not name.startswith(REFERENCE)]


def _run_interleave(args: argparse.Namespace) -> list[LoadResult]:
    stop_on_signals()
    trees = dict(args.tree)
    if len(trees) != len(args.tree):
        raise ProcessFailed("each --tree needs a name of its own")
    load_before = machine_info()
    measured = interleave(trees=trees, users=args.users, warmup=args.warmup, block=args.block)
    results = {name: m.result for name, m in measured.items()}
    for result in results.values():
        print(format_result(result), file=sys.stderr, flush=True)
    after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"- Machine: {load_before} at the start; load average {after} at the end", flush=True)
    print(markdown_table(results, cpu_ms_per_flow={name: m.cpu_ms_per_flow for name, m in measured.items()}))
    for name, m in measured.items():
        print(*cpu_lines({(name, 1): m}, name, [1]), flush=True)
    return list(results.values())


_COMMANDS = {"load": _run_load, "compare": _run_compare, "interleave": _run_interleave}


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status 1 when some flow did not complete (the numbers then measure something else)."""
    args = _parser().parse_args(argv)
    try:
        results = _COMMANDS[args.command](args)
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
