"""``python -m services.gateway --health``, the image's healthcheck, asks the gateway's ``/readyz``
with no more environment than where it listens: a container's healthcheck may run without the admin
token (a secret a platform team keeps out of probes)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devinfra.ports import free_ports


class _Readyz(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def readyz_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", free_ports(1)[0]), _Readyz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _health(port: int) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GATEWAY_", "ROSTER_")) and name != "DATABASE_URL"
    }
    environment |= {"GATEWAY_HOST": "0.0.0.0", "GATEWAY_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-m", "services.gateway", "--health"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_ready_gateway_is_healthy_without_the_admin_token(readyz_server: ThreadingHTTPServer) -> None:
    probe = _health(readyz_server.server_address[1])
    assert (probe.returncode, probe.stderr) == (0, "")


def test_a_gateway_that_is_not_ready_is_unhealthy(
    readyz_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_Readyz, "status", 503)
    probe = _health(readyz_server.server_address[1])
    assert probe.returncode == 1
    url = f"http://127.0.0.1:{readyz_server.server_address[1]}/readyz"
    assert probe.stderr == f"gateway not ready (503 from {url}): (no detail)\n"
