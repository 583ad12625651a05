"""Ports for local servers: never from the kernel's ephemeral range (where outgoing connections of
starting services could take them first), never twice, never one another process reserved."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devinfra import ports


def _ephemeral_range() -> tuple[int, int]:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return int(low), int(high)


@pytest.fixture(autouse=True)
def own_reservations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(ports, "_RESERVATIONS", tmp_path / "reservations")
    return tmp_path / "reservations"


def test_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    low, high = _ephemeral_range()
    picked = ports.free_ports(40) + ports.free_ports(40)
    assert len(set(picked)) == 80
    assert all(not low <= port <= high for port in picked)
    for port in picked:
        with socket.socket() as server:
            server.bind((ports.HOST, port))


def test_each_pick_is_reserved_for_other_processes(own_reservations: Path) -> None:
    picked = ports.free_ports(3)
    assert sorted(int(marker.name) for marker in own_reservations.iterdir()) == sorted(picked)


def test_a_port_reserved_elsewhere_is_refused_until_the_reservation_expires(own_reservations: Path) -> None:
    port = 20_001
    assert ports._reserve(port)
    assert not ports._reserve(port)
    expired = time.time() - ports._RESERVATION_SECONDS - 5
    os.utime(own_reservations / str(port), (expired, expired))
    assert ports._reserve(port)


def test_a_port_in_use_is_not_free() -> None:
    with socket.socket() as server:
        server.bind((ports.HOST, 0))
        server.listen()
        assert not ports.port_is_free(server.getsockname()[1])


_CLAIMER = """
import sys
from pathlib import Path
from devinfra import ports
ports._RESERVATIONS = Path(sys.argv[1])
print(ports.port_or_free(int(sys.argv[2])), flush=True)
sys.stdin.read()
"""


def _claimed_elsewhere(own_reservations: Path, port: int) -> subprocess.Popen[str]:
    """Another process (another ``make run``) that asked for ``port`` and still runs."""
    other = subprocess.Popen(
        [sys.executable, "-c", _CLAIMER, str(own_reservations), str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout is not None and int(other.stdout.readline()) == port
    return other


def test_a_preferred_port_another_live_process_claimed_is_not_given_until_it_ends(
    own_reservations: Path,
) -> None:
    port = ports.free_ports(1)[0]
    other = _claimed_elsewhere(own_reservations, port)
    try:
        assert ports.port_or_free(port) != port  # free to bind, yet the other run is about to
    finally:
        other.kill()  # however it ends, its claim goes with it
        other.wait()

    try:
        assert ports.port_or_free(port) == port
        assert not ports.claim(port)  # and now this process holds it
    finally:
        ports.release(port)
    assert ports.claim(port)  # released: claimable again
    ports.release(port)
