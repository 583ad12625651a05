"""TCP ports on 127.0.0.1 for the local servers (Kafka, PostgreSQL, services) and the tests.

A port is picked, then bound a moment later by the server it is handed to. Two things can take it in
between, and both happened when many processes start at once:

* the kernel, as the local port of an outgoing connection (every service opens Kafka and database
  connections while it starts). So ports are picked *below* the kernel's ephemeral range
  (``net.ipv4.ip_local_port_range``), which the kernel never hands out on its own, rather than by
  binding port 0, which draws from that very range;
* another test process picking the same port. So each pick is reserved in a directory shared by the
  processes of this machine (an exclusive create), and a reservation expires after a while, once the
  server has long bound its port or is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"

_LOWEST = 10_000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_RESERVATIONS = Path(tempfile.gettempdir()) / "roster-ports"
_RESERVATION_SECONDS = 600.0
_handed_out: set[int] = set()
_claims: dict[int, int] = {}  # port → the descriptor holding its lock


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that are free on 127.0.0.1 now, outside the kernel's ephemeral
    range, and handed out to no one else in the last minutes."""
    start, stop = _outside_ephemeral_range()
    picked: list[int] = []
    for _ in range(50 * count + 200):
        if len(picked) == count:
            return picked
        port = random.randrange(start, stop)
        if port not in _handed_out and port_is_free(port) and _reserve(port):
            _handed_out.add(port)
            picked.append(port)
    raise OSError(f"no {count} free ports on {HOST} in [{start}, {stop})")


def port_is_free(port: int, *, reuse_address: bool = False) -> bool:
    """Whether ``port`` can be bound now. ``reuse_address`` for servers that bind with SO_REUSEADDR
    (Kafka): a connection lingering in TIME_WAIT is then no conflict."""
    with socket.socket() as sock:
        if reuse_address:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def port_or_free(preferred: int) -> int:
    """``preferred`` if it is free and no other live process claimed it (``claim``), else any free
    port."""
    return preferred if port_is_free(preferred) and claim(preferred) else free_ports(1)[0]


def claim(port: int) -> bool:
    """Claim ``port`` for as long as this process lives; False if another live process holds it.

    For the fixed ports a user asks for (``make run``'s Kafka and gateway): two runs started at the
    same moment both found 9092 free, and the second failed later, on a broker of the other run. A
    lock on a file rather than a reservation that expires: the kernel lets go of it when the process
    ends, however it ends, so the next run gets the same port back at once."""
    _RESERVATIONS.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(_RESERVATIONS / f"{port}.claim", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(descriptor)
        if isinstance(error, BlockingIOError):
            return False
        raise
    _claims[port] = descriptor  # kept open: closing it would let go of the lock
    return True


def release(port: int) -> None:
    """Let go of this process's claim on ``port`` (a run holds its claims until it ends)."""
    descriptor = _claims.pop(port, None)
    if descriptor is not None:
        os.close(descriptor)


def _outside_ephemeral_range() -> tuple[int, int]:
    """Ports the kernel does not pick for outgoing connections: below its ephemeral range, or above
    it when that range starts low (Linux's default is 32768-60999; elsewhere assume it)."""
    low, high = 32_768, 60_999
    with contextlib.suppress(OSError, ValueError):
        low, high = (int(bound) for bound in _EPHEMERAL_RANGE.read_text().split()[:2])
    if low - _LOWEST >= 2_000:
        return _LOWEST, low
    if 65_535 - high >= 2_000:
        return high + 1, 65_536
    return _LOWEST, 32_768  # the whole range is ephemeral: the best left is to spread the picks


def _reserve(port: int) -> bool:
    """Reserve ``port`` against other processes on this machine; False if one holds it."""
    _RESERVATIONS.mkdir(parents=True, exist_ok=True)
    marker = _RESERVATIONS / str(port)
    with contextlib.suppress(OSError):  # an expired reservation: take it over
        if time.time() - marker.stat().st_mtime > _RESERVATION_SECONDS:
            marker.unlink()
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    return True
