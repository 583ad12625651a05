"""Which cluster a Kafka node serves and which brokers it counts as alive, asked with one hand-built
Metadata request.

Built by hand rather than with aiokafka: start-up polls it from plain threads that have no event
loop, several times a second while the JVM comes up, and one request on a socket answers it (a
KRaft broker lists only unfenced brokers in its Metadata reply).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from devinfra.ports import HOST


@dataclass(frozen=True)
class ClusterView:
    cluster_id: str | None
    alive_broker_ids: frozenset[int]


def cluster_view(port: int) -> ClusterView | None:
    """Ask the broker on ``port`` for its cluster id and the unfenced brokers it knows (Metadata v4);
    None if it does not answer yet."""
    client_id = b"devinfra"
    # api_key=3 (Metadata), version 4, correlation id 1, client id; empty topic list,
    # allow_auto_topic_creation=false.
    request = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    try:
        with socket.create_connection((HOST, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            return _parse(_recv_exact(sock, size))
    except (OSError, struct.error, UnicodeDecodeError):
        return None


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks.extend(chunk)
    return bytes(chunks)


def _parse(response: bytes) -> ClusterView:
    # correlation_id, throttle_time_ms, then brokers: [node_id, host, port, rack?], cluster_id?.
    (count,) = struct.unpack_from(">i", response, 8)
    offset, ids = 12, set()
    for _ in range(count):
        node_id, host_length = struct.unpack_from(">ih", response, offset)
        offset += 6 + host_length + 4
        (rack_length,) = struct.unpack_from(">h", response, offset)
        offset += 2 + max(rack_length, 0)
        ids.add(node_id)
    (id_length,) = struct.unpack_from(">h", response, offset)
    cluster_id = response[offset + 2 : offset + 2 + id_length].decode() if id_length >= 0 else None
    return ClusterView(cluster_id=cluster_id, alive_broker_ids=frozenset(ids))
