"""What ``compare`` prints: markdown tables, Roster beside scim2-server, with ratios and CPU per flow."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from devinfra.bench.load import LatencyStats, LoadResult


@dataclass(frozen=True)
class Measured:
    result: LoadResult
    server_cpu_s: dict[str, float]
    # Share of all server CPU spent in metrics and tracing (from the profiles; None unprofiled).
    instrumentation: float | None = None

    @property
    def cpu_ms_per_flow(self) -> float:
        flows = self.result.completed
        return 1000.0 * sum(self.server_cpu_s.values()) / flows if flows else float("nan")


# (server name, concurrency) → what was measured
Runs = Mapping[tuple[str, int], Measured]


def machine_info() -> str:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"nproc {cpus}, load average {load}, Python {platform.python_version()}"
        f" ({platform.python_implementation()}), {platform.system()} {platform.release()}"
        f" {platform.machine()}"
    )


def _triple(stats: LatencyStats) -> str:
    return f"{stats.p50_ms:.1f} / {stats.p95_ms:.1f} / {stats.p99_ms:.1f}"


def markdown_table(
    results: Mapping[str, LoadResult], *, cpu_ms_per_flow: Mapping[str, float] | None = None
) -> str:
    """One column per server, for one load run each (with their server CPU per flow, when given)."""
    rows: list[tuple[str, list[str]]] = [
        ("users/s (GET + POST flows)", [f"{r.users_per_s:.1f}" for r in results.values()]),
        ("POST p50 / p95 / p99 (ms)", [_triple(r.post) for r in results.values()]),
        ("GET p50 / p95 / p99 (ms)", [_triple(r.get) for r in results.values()]),
        ("POST / GET max (ms)", [f"{r.post.max_ms:.1f} / {r.get.max_ms:.1f}" for r in results.values()]),
        ("completed flows", [f"{r.completed}/{r.users}" for r in results.values()]),
        ("errors", [errors_cell(r) for r in results.values()]),
    ]
    if cpu_ms_per_flow:
        rows.append(("server CPU ms/flow", [f"{cpu_ms_per_flow[name]:.1f}" for name in results]))
    lines = ["| | " + " | ".join(results) + " |", "|---|" + "---:|" * len(results)]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    return "\n".join(lines)


def errors_cell(result: LoadResult) -> str:
    if not result.errors:
        return "0"
    return f"{result.error_count} (" + ", ".join(f"{k}: {v}" for k, v in result.errors.items()) + ")"


def side_by_side(runs: Runs, roster: str, reference: str, concurrencies: Sequence[int]) -> str:
    """One row per concurrency: Roster, scim2-server of the same run, their ratio, CPU per flow."""
    lines = [
        f"| concurrency | {roster} users/s | POST p50 / p99 ms | GET p50 / p99 ms | errors"
        f" | server CPU ms/flow | {reference} users/s | POST p50 / p99 ms | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in concurrencies:
        ours, theirs = runs.get((roster, c)), runs.get((reference, c))
        if ours is None:
            continue
        r = ours.result
        cells = [
            str(c),
            f"{r.users_per_s:.1f}",
            f"{r.post.p50_ms:.1f} / {r.post.p99_ms:.1f}",
            f"{r.get.p50_ms:.1f} / {r.get.p99_ms:.1f}",
            errors_cell(r),
            f"{ours.cpu_ms_per_flow:.1f}",
        ]
        if theirs is None:
            cells += ["", "", ""]
        else:
            t = theirs.result
            ratio = r.users_per_s / t.users_per_s if t.users_per_s else float("nan")
            cells += [f"{t.users_per_s:.1f}", f"{t.post.p50_ms:.1f} / {t.post.p99_ms:.1f}", f"{ratio:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_lines(runs: Runs, name: str, concurrencies: Sequence[int]) -> list[str]:
    lines = []
    for c in concurrencies:
        measured = runs.get((name, c))
        if measured is None:
            continue
        used = sorted(measured.server_cpu_s.items(), key=lambda kv: -kv[1])
        parts = ", ".join(f"{n} {s:.1f} s" for n, s in used if s >= 0.05) or "n/a"
        share = measured.instrumentation
        lines.append(
            f"- {name}, concurrency {c}: {measured.result.elapsed_s:.1f} s run, server CPU {parts}"
            f" (load generator {measured.result.client_cpu_s:.1f} s)"
            + ("" if share is None else f"; metrics + tracing {share:.1%} of server CPU")
        )
    return lines
