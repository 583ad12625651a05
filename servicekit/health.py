"""Health probes for container healthchecks: a service's ``/readyz`` (without a health listener:
its database and Kafka both answer); the gateway's ``/readyz``.

Run as ``python -m services.<name> --health``, with the same environment as the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

from sqlalchemy import text

from servicekit.db import DatabaseUnreachable, make_engine, unreachable_as_refusal
from servicekit.kafka import KafkaUnreachable, start_admin
from servicekit.settings import ConsumingServiceSettings, ServiceSettings


async def _kafka_answers(settings: ServiceSettings) -> None:
    admin = await start_admin(settings, request_timeout_ms=5000)
    try:
        await admin.list_topics()
    finally:
        await admin.close()


def check(settings: ServiceSettings) -> None:
    url = settings.resolved_database_url()
    with unreachable_as_refusal(url):
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    asyncio.run(_kafka_answers(settings))


@contextlib.contextmanager
def _aiokafka_quiet() -> Iterator[None]:
    """aiokafka logs each broker it cannot reach; the probe says so itself, in one line."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def local_url(host: str, port: int, path: str) -> str:
    """Where a probe on the same host reaches a listener bound to ``host``."""
    reachable = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    return f"http://{reachable}:{port}{path}"


def exit_status(settings: ConsumingServiceSettings) -> int:
    if settings.health_port:
        url = local_url(settings.health_host, settings.health_port, "/readyz")
        return http_exit_status(settings.service_name, url)
    try:
        with _aiokafka_quiet():
            check(settings)
    except (DatabaseUnreachable, KafkaUnreachable) as error:
        print(f"{settings.service_name} unhealthy: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"{settings.service_name} unhealthy: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def http_exit_status(name: str, url: str) -> int:
    """0 when ``url`` answers 2xx within five seconds; otherwise one line on stderr saying why: the
    checks ``/readyz`` reports failing, or that nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=5):
            pass
    except urllib.error.HTTPError as answer:
        print(
            f"{name} not ready ({answer.code} from {url}): {_failing_checks(answer.read())}", file=sys.stderr
        )
        return 1
    except (OSError, http.client.HTTPException) as error:  # URLError, a timeout, no HTTP server
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        if isinstance(error, http.client.HTTPException):
            reason = f"not an HTTP answer ({type(error).__name__})"
        print(f"{name} unhealthy: no answer from {url}: {reason}", file=sys.stderr)
        return 1
    return 0


def _failing_checks(body: bytes) -> str:
    try:
        checks = json.loads(body)["checks"]
        failing = [f"{name}: {outcome['detail']}" for name, outcome in checks.items() if not outcome["ok"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return body.decode(errors="replace").strip()[:300] or "(no detail)"
    return "; ".join(failing) or "(no check failing)"
