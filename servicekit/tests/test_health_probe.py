"""``--health`` against a real health listener: exit 0 when ready; otherwise one line on stderr that
names the failing checks, or says that nothing answers."""

from __future__ import annotations

import asyncio

import pytest

from devinfra.ports import free_ports
from servicekit import health, readiness
from servicekit.health_listener import HealthListener


async def _probe_beside_a_listener(checks: dict[str, readiness.Check], port: int) -> int:
    listener = HealthListener(host="127.0.0.1", port=port, checks=checks)
    await listener.start()
    try:
        url = health.local_url("127.0.0.1", port, "/readyz")
        return await asyncio.to_thread(health.http_exit_status, "users", url)
    finally:
        await listener.stop()


def _outcome(ok: bool, detail: str) -> readiness.Check:
    async def check() -> readiness.Outcome:
        return readiness.Outcome(ok, detail)

    return check


def test_ready_is_exit_0_and_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_ports(1)[0]
    assert asyncio.run(_probe_beside_a_listener({"database": _outcome(True, "sqlite")}, port)) == 0
    assert capsys.readouterr().err == ""


def test_not_ready_names_the_failing_checks_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_ports(1)[0]
    checks = {
        "database": _outcome(True, "sqlite"),
        "consumers": _outcome(False, "joining users.commands.v1"),
        "relay": _outcome(False, "oldest unpublished message 12.0 s old"),
    }
    assert asyncio.run(_probe_beside_a_listener(checks, port)) == 1
    assert capsys.readouterr().err == (
        f"users not ready (503 from http://127.0.0.1:{port}/readyz): consumers: joining users.commands.v1; "
        "relay: oldest unpublished message 12.0 s old\n"
    )


def test_nothing_listening_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_ports(1)[0]
    assert health.http_exit_status("users", f"http://127.0.0.1:{port}/readyz") == 1
    assert capsys.readouterr().err == (
        f"users unhealthy: no answer from http://127.0.0.1:{port}/readyz: [Errno 111] Connection refused\n"
    )
