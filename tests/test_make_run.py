"""`make run`'s program: starts everything, prints the two lines, Ctrl-C leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.okta import filter_params, user_body

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid) and "zombie" not in fields.get("State", ""):
            found.add(int(status.parent.name))
    return found


def _read_start_up(process: subprocess.Popen[str], deadline: float) -> dict[str, str]:
    assert process.stdout is not None
    values: dict[str, str] = {}
    while "SCIM_TOKEN" not in values:
        assert time.monotonic() < deadline, f"no start-up lines; got {values}"
        line = process.stdout.readline()
        assert line or process.poll() is None, "roster-run exited during start-up"
        if "=" in line and line.split("=", 1)[0] in ("SCIM_BASE_URL", "SCIM_TOKEN"):
            key, value = line.strip().split("=", 1)
            values[key] = value
    return values


def test_run_serves_okta_then_stops_everything_on_sigint() -> None:
    state_dir = Path(tempfile.mkdtemp(prefix="roster-run-"))
    process = _start(state_dir)
    try:
        values = _read_start_up(process, time.monotonic() + 150)
        children = _children_of(process.pid)
        assert len(children) >= 6  # Kafka, users, seats, teams, activity, gateway
        headers = {"Authorization": f"Bearer {values['SCIM_TOKEN']}"}
        base = values["SCIM_BASE_URL"]
        # The first create right after start-up may wait for consumer groups to settle (Okta allows 60 s).
        with httpx.Client(headers=headers, timeout=30) as client:
            lookup = client.get(f"{base}/Users", params=filter_params("run@example.com")).json()
            assert lookup["totalResults"] == 0
            assert client.post(f"{base}/Users", json=user_body("run@example.com")).status_code == 201
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=90) == 0
        time.sleep(0.5)
        assert not any(Path(f"/proc/{pid}").exists() and _children_alive(pid) for pid in children)
        # A clean stop is told from a crash in each log.
        for name in ("users", "seats", "teams", "activity", "gateway"):
            lines = (state_dir / "logs" / f"{name}.log").read_text().splitlines()
            said = [json.loads(line)["message"] for line in lines if line.startswith("{")]
            assert any(message.startswith(name) and message.endswith(" stopped") for message in said), name
    finally:
        if process.poll() is None:  # a failed assertion: still stop everything it started
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def _start(state_dir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    command = [sys.executable, "-m", "devinfra.run", "--state-dir", str(state_dir), "--port", "0"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _child_pid(run: subprocess.Popen[str], marker: bytes) -> int:
    """The one process ``make run`` started whose command line holds ``marker``."""
    [pid] = [p for p in _children_of(run.pid) if marker in Path(f"/proc/{p}/cmdline").read_bytes()]
    return pid


def _activity_names(base: str, admin_token: str) -> list[str]:
    with httpx.Client(
        base_url=f"{base}/admin/v1", headers={"Authorization": f"Bearer {admin_token}"}
    ) as admin:
        [tenant] = [t["id"] for t in admin.get("/tenants").json() if t["name"] == "demo"]
        entries = admin.get(f"/tenants/{tenant}/activity", params={"user": "kept@example.com"}).json()[
            "entries"
        ]
    return sorted(f"{e['summary']} {e['status'] or ''}".strip() for e in entries)


def test_what_a_dead_process_had_not_consumed_is_consumed_by_the_next_run() -> None:
    """The broker's data is kept in the state directory like the databases: the records a process had
    not consumed when it died (here the activity service's) are still there for the next run."""
    state_dir = Path(tempfile.mkdtemp(prefix="roster-run-"))
    first = _start(state_dir)
    try:
        values = _read_start_up(first, time.monotonic() + 150)
        activity = _child_pid(first, b"services.activity")
        os.kill(activity, signal.SIGSTOP)  # consumes nothing from here on
        headers = {"Authorization": f"Bearer {values['SCIM_TOKEN']}"}
        with httpx.Client(headers=headers, timeout=30) as scim:
            assert (
                scim.post(f"{values['SCIM_BASE_URL']}/Users", json=user_body("kept@example.com")).status_code
                == 201
            )
        # The request's outcome is published after a short gathering (GATEWAY_ACTIVITY_GATHER_MS).
        time.sleep(1)
        os.kill(activity, signal.SIGKILL)
        assert first.wait(timeout=90) == 1
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGINT)
            first.wait(timeout=60)
    second = _start(state_dir)
    try:
        values = _read_start_up(second, time.monotonic() + 150)
        base = values["SCIM_BASE_URL"].removesuffix("/scim/v2")
        admin_token = (state_dir / "admin-token").read_text().strip()
        deadline = time.monotonic() + 60
        while (names := _activity_names(base, admin_token)) != [
            "POST User 201",
            "SeatReserved",
            "UserCreated",
        ]:
            assert time.monotonic() < deadline, names
            time.sleep(0.5)
    finally:
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=90) == 0


@pytest.mark.parametrize(("marker", "name"), [(b"services.teams", "teams"), (b"kafka.Kafka", "Kafka")])
def test_a_process_that_dies_stops_everything_with_one_message(marker: bytes, name: str) -> None:
    """Each process is the only instance under ``make run``, the broker too: one gone, the rest are
    stopped and the exit status and message say which, with its last log lines, rather than a
    traceback (or, for the broker, every request a 503 until someone notices)."""
    run = _start(Path(tempfile.mkdtemp(prefix="roster-run-")))
    try:
        _read_start_up(run, time.monotonic() + 150)
        children = _children_of(run.pid)
        os.kill(_child_pid(run, marker), signal.SIGKILL)
        assert run.wait(timeout=90) == 1
        assert run.stderr is not None
        said = run.stderr.read()
        assert f"make run: {name} exited (killed by SIGKILL); last log lines:" in said
        assert "stopping every process" in said
        assert "Traceback" not in said
        time.sleep(0.5)
        assert not any(_children_alive(pid) for pid in children)
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)
            run.wait(timeout=60)


def _children_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "zombie" not in state
