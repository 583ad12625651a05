"""An OTLP/HTTP endpoint that accepts every export and keeps nothing: the ``traced`` shape's collector.

It runs in the load generator's process, so its CPU is not counted as the server's; what the shape
measures is what exporting spans costs Roster's processes (building, batching, encoding, sending)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Accept(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    """A running sink on 127.0.0.1; its base URL (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    thread = threading.Thread(target=server.serve_forever, name="otlp-sink", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
