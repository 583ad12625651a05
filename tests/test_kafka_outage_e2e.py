"""Kafka unreachable: the gateway answers 503 + ``Retry-After`` at once instead of holding every
request for its full timeout, changes nothing, and serves again by itself when the broker returns.

The broker is frozen (SIGSTOP), as a hung host would be: its connections stay open and nothing
answers on them — the case a refused connection cannot reveal quickly.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from devinfra.kafka import LocalKafka
from tests import okta
from tests.stack import Stack, create_tenant, own_stack

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

REQUEST_TIMEOUT_SECONDS = 15  # the gateway's default: what each request waited before
AT_ONCE_SECONDS = 5.0  # a third of that timeout, slack for a busy host: the gateway did not wait on Kafka


@pytest.fixture(scope="module")
def stack(spare_kafka: LocalKafka) -> Iterator[Stack]:
    timeout = {"GATEWAY_REQUEST_TIMEOUT_SECONDS": str(REQUEST_TIMEOUT_SECONDS)}
    with own_stack(
        "roster-outage-",
        kafka_bootstrap=spare_kafka.bootstrap_servers,
        services=["users", "seats"],
        env=timeout,
    ) as stack:
        yield stack


def _user_names(scim: httpx.Client) -> set[str]:
    listed = scim.get("/Users", params={"count": 100})
    assert listed.status_code == 200, listed.text
    return {user["userName"] for user in listed.json()["Resources"]}


def _wait_until_gateway_sees_kafka_gone(gateway: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        metrics = httpx.get(f"{gateway}/metrics", timeout=10).text
        if "roster_gateway_kafka_reachable 0.0" in metrics:
            return
        time.sleep(0.2)
    raise AssertionError("the gateway never noticed that Kafka stopped answering")


def _assert_unavailable_at_once(send: Callable[[], httpx.Response]) -> None:
    started = time.monotonic()
    response = send()
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert elapsed < AT_ONCE_SECONDS, f"answered after {elapsed:.1f} s"


def test_a_frozen_broker_gets_503_at_once_and_the_gateway_recovers_by_itself(
    stack: Stack, spare_kafka: LocalKafka
) -> None:
    with stack.admin() as admin:
        tenant = create_tenant(admin, "outage")
    gateway = f"http://127.0.0.1:{stack.gateway_ports[0]}"
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
        assert scim.post("/Users", json=okta.user_body("before@example.com")).status_code == 201
        before = _user_names(scim)

        with spare_kafka.paused():
            _wait_until_gateway_sees_kafka_gone(gateway)
            lookup = 'userName eq "before@example.com"'
            _assert_unavailable_at_once(lambda: scim.get("/Users", params={"filter": lookup}))
            body = okta.user_body("during@example.com")
            _assert_unavailable_at_once(lambda: scim.post("/Users", json=body))

        deadline = time.monotonic() + 60
        while scim.get("/Users", params={"filter": lookup}).status_code == 503:
            assert time.monotonic() < deadline, "the gateway did not serve again after Kafka returned"
            time.sleep(0.5)
        created = scim.post("/Users", json=okta.user_body("after@example.com"))
        assert created.status_code == 201, created.text
        assert _user_names(scim) == before | {"after@example.com"}  # the refused create changed nothing


STOPPED_WITHIN_SECONDS = 15.0  # the Kafka clients' 5 s bound, the gateway's 3 s outcome flush, slack


def test_every_process_stops_by_itself_promptly_while_the_broker_does_not_answer(
    spare_kafka: LocalKafka,
) -> None:
    """SIGTERM while Kafka is frozen: each process closes its Kafka clients within a bound, releases its
    database and exits 0, as an orchestrator's grace period expects; none waits to be killed."""
    with own_stack(
        "roster-stop-", kafka_bootstrap=spare_kafka.bootstrap_servers, services=["users", "seats"]
    ) as stack:
        tenant = stack.new_tenant("stopping")
        with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=60) as scim:
            deadline = time.monotonic() + 90  # a broker's new topics may still elect their leaders: 503
            while (created := scim.post("/Users", json=okta.user_body("ann@example.com"))).status_code == 503:
                assert time.monotonic() < deadline, created.text
            assert created.status_code == 201, created.text
        processes = [*stack.gateways, *stack.extras]
        with spare_kafka.paused():
            for process in processes:
                process.terminate()
            deadline = time.monotonic() + STOPPED_WITHIN_SECONDS
            while any(process.alive() for process in processes) and time.monotonic() < deadline:
                time.sleep(0.2)
            still_running = [process.name for process in processes if process.alive()]
        assert still_running == [], f"still stopping after {STOPPED_WITHIN_SECONDS:g} s"
        for process in processes:
            # uvicorn ends the gateway, once its shutdown is done, by the SIGTERM it had caught.
            assert process.returncode in (0, -signal.SIGTERM), process.log_tail()
            assert " stopped" in process.log_file.read_text(), process.log_tail()
