"""Ports for local servers: never from the kernel's ephemeral range (where outgoing connections of
starting services could take them first), never twice, never one another process reserved."""

from __future__ import annotations

import os
import socket
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
