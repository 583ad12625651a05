"""Which brokers a Kafka node counts as alive, asked with one hand-built Metadata request.

Built by hand rather than with aiokafka: start-up polls it from plain threads that have no event
loop, several times a second while the JVM comes up, and one request on a socket answers it (a
KRaft broker lists only unfenced brokers in its Metadata reply).
"""

from __future__ import annotations

import socket
import struct

from devinfra.ports import HOST


def alive_broker_ids(port: int) -> frozenset[int] | None:
    """Ask the broker on ``port`` for the unfenced brokers it knows (Metadata v4); None if it
    does not answer yet."""
    client_id = b"devinfra"
    # api_key=3 (Metadata), version 4, correlation id 1, client id; empty topic list,
    # allow_auto_topic_creation=false.
    request = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            return _parse_broker_ids(_recv_exact(sock, size))
    except (OSError, struct.error):
        return None


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks.extend(chunk)
    return bytes(chunks)


def _parse_broker_ids(response: bytes) -> frozenset[int]:
    # correlation_id, throttle_time_ms, then brokers: [node_id, host, port, rack?].
    (count,) = struct.unpack_from(">i", response, 8)
    offset, ids = 12, set()
    for _ in range(count):
        node_id, host_length = struct.unpack_from(">ih", response, offset)
        offset += 6 + host_length + 4
        (rack_length,) = struct.unpack_from(">h", response, offset)
        offset += 2 + max(rack_length, 0)
        ids.add(node_id)
    return frozenset(ids)
