"""TCP ports on 127.0.0.1 for the local servers (Kafka, PostgreSQL, services) and the tests."""

from __future__ import annotations

import contextlib
import socket

HOST = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


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
    """``preferred`` if it is free, else any free port."""
    return preferred if port_is_free(preferred) else free_ports(1)[0]
