"""A request that does not arrive as it should, through the real HTTP server (uvicorn, as the gateway
runs it) on a socket: a body kept waiting past ``GATEWAY_BODY_TIMEOUT_SECONDS`` is answered 408 and
the connection closed; one whose client hangs up part-way is the client's error (400), never an
unexpected server error; a head past its bound is 431."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import uvicorn

from devinfra.ports import free_ports
from servicekit import migrations
from servicekit.db import make_engine
from services.gateway.app import create_app, server_options
from services.gateway.config import GatewaySettings
from services.gateway.schema import SCHEMA

ADMIN_TOKEN = "admin-" + "t" * 32
PARTIAL = b'{"name": "Ac'  # of a body declared 100 bytes long


@pytest.fixture
def gateway_port(tmp_path: Path) -> Iterator[int]:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    settings = GatewaySettings.model_validate(
        {"ROSTER_ADMIN_TOKEN": ADMIN_TOKEN, "database_url": url, "body_timeout_seconds": 1}
    )
    engine = make_engine(url)
    migrations.upgrade(engine, SCHEMA)
    app = create_app(settings)
    app.state.engine = engine  # start-up (Kafka) skipped: the admin tenant routes ask no service
    port = free_ports(1)[0]
    server = uvicorn.Server(uvicorn.Config(app, **server_options("127.0.0.1", port), lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()


def _partial_request(path: str = "/admin/v1/tenants", cookie: str = "") -> bytes:
    kind = "application/x-www-form-urlencoded" if path.startswith("/console") else "application/json"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: roster\r\nContent-Type: {kind}\r\nCookie: {cookie}\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Length: 100\r\n\r\n"
    )
    return head.encode() + PARTIAL


def _answer_to_a_partial_body(port: int, path: str, cookie: str = "") -> tuple[bytes, bytes]:
    started = time.monotonic()
    answer = _raw_answer(port, _partial_request(path, cookie))
    assert time.monotonic() - started < 10
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), head
    assert b"connection: close" in head.lower()
    return head, body


def _raw_answer(port: int, request: bytes) -> bytes:
    """What the server answers ``request`` with, read until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        with contextlib.suppress(OSError):  # closed while still sending: the answer is in the buffer
            connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_a_body_still_missing_after_the_timeout_is_408_and_the_connection_closed(gateway_port: int) -> None:
    _, body = _answer_to_a_partial_body(gateway_port, "/admin/v1/tenants")
    assert orjson.loads(body)["detail"] == "The request body did not arrive in full within 1 s."


def test_a_console_form_whose_body_stalls_is_408_on_a_page(gateway_port: int) -> None:
    """The sign-in form takes bodies from anyone: it must not wait for one forever either."""
    page = httpx.get(f"http://127.0.0.1:{gateway_port}/console/sign-in")  # the session a form needs
    cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
    head, body = _answer_to_a_partial_body(gateway_port, "/console/sign-in", cookie)
    assert b"content-type: text/html" in head.lower()
    assert b"The request body did not arrive in full within 1 s." in body


def test_a_client_hanging_up_mid_body_is_its_error_not_the_servers(
    gateway_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with socket.create_connection(("127.0.0.1", gateway_port), timeout=30) as connection:
        connection.sendall(_partial_request())
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while not (lines := [record for record in caplog.records if record.name == "roster.audit"]):
        assert time.monotonic() < deadline, "no audit line logged"
        time.sleep(0.05)
    assert [line.getMessage() for line in lines] == ["admin POST /admin/v1/tenants -> 400"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "headers",
    [b"X-Big: " + b"a" * 1_000_000 + b"\r\n", b"".join(b"X-%d: a\r\n" % i for i in range(100_000))],
    ids=["one field of 1 MB", "100,000 fields"],
)
def test_a_request_head_past_its_bound_is_431_and_the_connection_closed(
    gateway_port: int, headers: bytes
) -> None:
    answer = _raw_answer(gateway_port, b"GET /livez HTTP/1.1\r\nHost: roster\r\n" + headers + b"\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), head
    assert b"connection: close" in head.lower() and body == b"Request header fields too large."


def test_heads_within_their_bound_are_served_however_much_arrives_at_once(gateway_port: int) -> None:
    """Only a head counts: twenty pipelined requests of 8 KB heads (a bearer token of several KB and a
    proxy's headers, far below the bound, 160 KB together), and bodies of 300 KB on one connection,
    are all answered; the count starts again with each request."""
    fields = b"Authorization: Bearer " + b"t" * 8000 + b"\r\n" + b"X-Forwarded-For: 10.0.0.1\r\n" * 10
    head = b"GET /livez HTTP/1.1\r\nHost: roster\r\n" + fields + b"\r\n"
    posted = b"POST /livez HTTP/1.1\r\nHost: roster\r\nContent-Length: 300000\r\n\r\n" + b"x" * 300_000
    closing = head.replace(b"Host: roster", b"Host: roster\r\nConnection: close")
    answer = _raw_answer(gateway_port, head * 20 + posted * 2 + closing)
    assert answer.count(b"HTTP/1.1 200 ") == 21 and answer.count(b"HTTP/1.1 405 ") == 2, answer[:300]
    assert b" 431 " not in answer
