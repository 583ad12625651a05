"""devinfra.bench against the reference scim2-server: counts and structure only, never timings."""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devinfra.bench import (
    LatencyStats,
    LoadResult,
    Target,
    compare_report,
    filter_url,
    format_result,
    instrumentation_of,
    load,
    markdown_table,
    reference_beside,
    scim2_server,
)
from devinfra.bench.cli import main
from devinfra.bench.cpu import (
    cpu_seconds,
    instrumentation_share,
    label,
    process_tree,
    seconds_until_quiet,
    wait_until_quiet,
)
from devinfra.bench.interleaved import interleaved_load, parse_tree, turns
from devinfra.bench.otlp_sink import otlp_sink
from devinfra.bench.report import Measured, side_by_side

USERS = 20
CONCURRENCY = 4
WARMUP = 3


@pytest.fixture(scope="module")
def reference() -> Iterator[Target]:
    with tempfile.TemporaryDirectory(prefix="bench-test-") as tmp, scim2_server(Path(tmp), token="t0k") as t:
        yield t


def _users_named(target: Target, prefix: str) -> list[str]:
    headers = {"Authorization": f"Bearer {target.token}"}
    params = {"filter": f'userName sw "{prefix}."', "count": "1000"}
    page = httpx.get(f"{target.base_url}/Users", params=params, headers=headers).raise_for_status().json()
    return sorted(user["userName"] for user in page.get("Resources", []))


@pytest.mark.slow  # the reference server runs as a process of its own
async def test_every_flow_creates_one_user(reference: Target) -> None:
    result = await load(
        reference.base_url,
        reference.token,
        users=USERS,
        concurrency=CONCURRENCY,
        prefix="bench-test",
        warmup=WARMUP,
    )

    assert (result.completed, result.errors, result.error_count) == (USERS, {}, 0)
    assert (result.get.count, result.post.count) == (USERS, USERS)  # warm-up not counted
    for stats in (result.get, result.post):
        assert 0 < stats.p50_ms <= stats.p95_ms <= stats.p99_ms <= stats.max_ms
    assert result.elapsed_s > 0 and result.users_per_s > 0
    expected = [f"bench-test.{i:06d}@example.com" for i in range(WARMUP + USERS)]
    assert _users_named(reference, "bench-test") == expected


@pytest.mark.slow  # the reference server runs as a process of its own
async def test_failures_are_counted_by_status(reference: Target) -> None:
    result = await load(reference.base_url, "wrong-token", users=5, concurrency=2, warmup=0)

    assert result.completed == 0
    assert result.errors == {"GET 401": 5}
    assert (result.get.count, result.post.count) == (5, 0)
    assert math.isnan(result.post.p50_ms)
    assert "GET 401: 5" in format_result(result)


@pytest.mark.slow  # the reference server runs as a process of its own
async def test_an_existing_user_is_not_created_again(reference: Target) -> None:
    async def create_three() -> LoadResult:
        return await load(reference.base_url, reference.token, users=3, prefix="bench-twice", warmup=0)

    await create_three()
    again = await create_three()

    assert again.completed == 0
    assert again.errors == {"GET totalResults=1": 3}
    assert again.post.count == 0


@pytest.mark.slow  # the reference server runs as a process of its own
def test_the_cli_exit_status_tells_whether_every_flow_completed(
    reference: Target, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["load", "--base-url", reference.base_url, "--users", "4", "--concurrency", "2", "--warmup", "1"]
    assert main([*argv, "--token", reference.token]) == 0
    assert "completed 4/4 create flows" in capsys.readouterr().out
    assert main([*argv, "--token", "nope"]) == 1


def test_percentiles_are_nearest_rank() -> None:
    stats = LatencyStats.of([i / 1000 for i in range(1, 101)])  # 1 … 100 ms

    assert (stats.count, stats.p50_ms, stats.p95_ms, stats.p99_ms, stats.max_ms) == (100, 50, 95, 99, 100)
    assert LatencyStats.of([0.004]).p99_ms == 4


def test_filter_is_percent_encoded_like_okta() -> None:
    assert filter_url("a.b@example.com") == (
        "/Users?filter=userName%20eq%20%22a.b%40example.com%22&startIndex=1&count=100"
    )


def test_the_table_has_one_column_per_server() -> None:
    stats = LatencyStats(10, 1.0, 2.0, 3.0, 4.0)
    result = LoadResult("http://x", "p", 10, 2, 0, 10, 2.0, 0.5, stats, stats, {})
    failing = LoadResult("http://y", "p", 10, 2, 0, 8, 2.0, 0.5, stats, stats, {"POST 500": 2})

    table = markdown_table({"A": result, "B": failing}).splitlines()

    assert table[0] == "| | A | B |"
    assert "| users/s (GET + POST flows) | 5.0 | 4.0 |" in table
    assert "| POST p50 / p95 / p99 (ms) | 1.0 / 2.0 / 3.0 | 1.0 / 2.0 / 3.0 |" in table
    assert "| errors | 0 | 2 (POST 500: 2) |" in table
    assert not any(line.startswith("| server CPU") for line in table)


def test_the_table_gives_each_servers_cpu_per_flow_when_measured() -> None:
    stats = LatencyStats(10, 1.0, 2.0, 3.0, 4.0)
    result = LoadResult("http://x", "p", 10, 1, 0, 10, 2.0, 0.5, stats, stats, {})

    table = markdown_table(
        {"before": result, "after": result}, cpu_ms_per_flow={"after": 61.0, "before": 80.25}
    )

    assert "| server CPU ms/flow | 80.2 | 61.0 |" in table.splitlines()


def test_side_by_side_prints_the_ratio_and_cpu_per_flow() -> None:
    stats = LatencyStats(10, 1.0, 2.0, 3.0, 4.0)
    ours = LoadResult("http://x", "p", 10, 4, 0, 10, 2.0, 0.5, stats, stats, {})  # 5 users/s
    theirs = LoadResult("http://y", "p", 10, 4, 0, 10, 1.0, 0.5, stats, stats, {})  # 10 users/s
    runs = {
        ("Roster", 4): Measured(ours, {"services.users": 0.3, "kafka (java)": 0.2}),
        ("scim2-server", 4): Measured(theirs, {"python": 0.1}),
    }

    table = side_by_side(runs, "Roster", "scim2-server", [1, 4]).splitlines()

    assert len(table) == 3  # header, separator, concurrency 4 (nothing measured at 1)
    assert table[2] == "| 4 | 5.0 | 1.0 / 3.0 | 1.0 / 3.0 | 0 | 50.0 | 10.0 | 1.0 / 3.0 | 0.50x |"


def test_server_cpu_counts_every_process_of_the_tree() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; sum(range(10**7)); time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not cpu_seconds([child.pid]).get(label(child.pid)):
            time.sleep(0.1)
        assert child.pid in process_tree(os.getpid())
        mine = cpu_seconds([os.getpid()])  # the child's CPU is in its parent's tree
        assert mine[label(child.pid)] >= cpu_seconds([child.pid])[label(child.pid)] > 0.0
    finally:
        child.kill()
        child.wait()


def test_a_stack_is_quiet_at_the_first_second_it_uses_less_than_the_threshold() -> None:
    """What a load left queued is still being handled: the reference is loaded only after it."""
    busy_then_idle = [0.0, 1.9, 3.8, 5.0, 5.1, 5.15]  # CPU seconds so far, one reading a second
    assert seconds_until_quiet(busy_then_idle, most=60) == 4
    assert seconds_until_quiet([0.0, 0.1], most=60) == 1  # idle already: one second to see it
    assert seconds_until_quiet((2.0 * second for second in range(1000)), most=5) == 5  # gives up


def test_an_idle_process_is_quiet_within_seconds() -> None:
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(1.0)  # past its start-up
        assert wait_until_quiet(lambda: [idle.pid], most_seconds=20) < 10.0
    finally:
        idle.kill()
        idle.wait()


def test_each_shape_is_compared_with_the_reference_measured_beside_it() -> None:
    stats = LatencyStats(10, 1.0, 2.0, 3.0, 4.0)

    def measured(seconds: float) -> Measured:  # 10 flows in ``seconds``
        return Measured(LoadResult("http://x", "p", 10, 4, 0, 10, seconds, 0.5, stats, stats, {}), {"p": 0.1})

    runs = {
        ("Roster (default)", 4): measured(2.0),
        (reference_beside("Roster (default)"), 4): measured(1.0),
        ("Roster (production)", 4): measured(4.0),
        (reference_beside("Roster (production)"), 4): measured(2.0),  # the machine slower meanwhile
    }
    shapes = ["default", "production"]
    args = argparse.Namespace(users=10, concurrency=[4], warmup=3, shapes=shapes, settle=0, profile=None)

    report = compare_report(runs, args)

    assert report.count("| 0.50x |") == 2  # each against its own reference, not one for both
    assert "### Roster (default)" in report and "### Roster (production)" in report
    assert "- scim2-server beside Roster (production), concurrency 4:" in report


def test_instrumentation_is_the_work_done_in_metrics_and_tracing_not_what_they_wrap(tmp_path: Path) -> None:
    app = "/repo/.venv/lib/python3.11/site-packages"  # py-spy names some files absolute, most relative
    middleware = "consume_scope (faststream/prometheus/middleware.py:80)"
    handler = "consume (/repo/servicekit/service.py:118)"
    root, lock = "_run_code (<frozen runpy>:88)", "acquire (threading.py:9)"
    profile = tmp_path / "gateway.txt"
    profile.write_text(
        "\n".join(
            [
                # inside the handler the middleware wraps: the handler's own work
                f"{root};{middleware};{handler} 6",
                # the middleware's own work, down into the standard library
                f"{root};{middleware};{lock} 3",
                # a counter observed from Roster's code
                f"{handler};inc ({app}/prometheus_client/metrics.py:300) 1",
            ]
        )
    )
    assert instrumentation_share(profile) == pytest.approx(0.4)


def test_the_otlp_sink_accepts_an_export() -> None:
    with otlp_sink() as endpoint:
        answer = httpx.post(f"{endpoint}/v1/traces", content=b"\x0a\x00", timeout=5)
    assert answer.status_code == 200


def test_instrumentation_is_weighted_by_each_services_cpu(tmp_path: Path) -> None:
    counter = "inc (/venv/lib/python3.11/site-packages/prometheus_client/metrics.py:300)"
    work = "handle (/repo/services/users/handlers.py:10)"
    users, second_users, gateway = (tmp_path / f"{n}.txt" for n in ("users-11", "users-12", "gateway-13"))
    users.write_text(f"{work};{counter} 1\n{work} 1\n")
    second_users.write_text(f"{work} 2\n")  # a second users instance: one kind, one CPU figure
    gateway.write_text(f"{work} 4\n")
    profiles = {users: "services.users", second_users: "services.users", gateway: "services.gateway"}
    used = {"services.users": 4.0, "services.gateway": 2.0, "kafka (java)": 2.0}
    assert instrumentation_of(profiles, used) == pytest.approx(4.0 * (1 / 4) / 8.0)


def test_interleaved_flows_take_turns_in_blocks() -> None:
    assert turns(["before", "after"], 5, 2) == [
        ("before", 0), ("before", 1), ("after", 0), ("after", 1),
        ("before", 2), ("before", 3), ("after", 2), ("after", 3),
        ("before", 4), ("after", 4),
    ]  # fmt: skip


def test_a_tree_is_a_named_roster_checkout(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    assert parse_tree(f"after={root}") == ("after", root)
    with pytest.raises(ValueError, match="NAME=DIR"):
        parse_tree(f"no good={root}")
    with pytest.raises(ValueError, match="not a Roster checkout"):
        parse_tree(f"empty={tmp_path}")


@pytest.mark.slow  # the reference server runs as a process of its own
async def test_interleaved_load_measures_each_target_on_its_own(reference: Target) -> None:
    results = await interleaved_load({"a": reference, "b": reference}, users=5, warmup=2, block=2)

    assert list(results) == ["a", "b"]
    for result in results.values():
        assert (result.completed, result.errors, result.get.count, result.post.count) == (5, {}, 5, 5)
        assert result.concurrency == 1 and result.elapsed_s > 0
    prefix = results["a"].prefix
    assert _users_named(reference, f"{prefix}-a") == [f"{prefix}-a.{i:06d}@example.com" for i in range(5)]
