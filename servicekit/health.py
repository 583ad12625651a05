"""Health probes for container healthchecks: a service's ``/readyz`` (without a health listener:
its database and Kafka both answer); the gateway's ``/readyz``.

Run as ``python -m services.<name> --health``, with the same environment as the process.
"""

from __future__ import annotations

import asyncio
import sys
import urllib.request

from sqlalchemy import text

from servicekit.db import make_engine
from servicekit.kafka import start_admin
from servicekit.settings import ConsumingServiceSettings, ServiceSettings


async def _kafka_answers(settings: ServiceSettings) -> None:
    admin = await start_admin(settings, request_timeout_ms=5000)
    try:
        await admin.list_topics()
    finally:
        await admin.close()


def check(settings: ServiceSettings) -> None:
    engine = make_engine(settings.resolved_database_url())
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    asyncio.run(_kafka_answers(settings))


def local_url(host: str, port: int, path: str) -> str:
    """Where a probe on the same host reaches a listener bound to ``host``."""
    reachable = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host
    return f"http://{reachable}:{port}{path}"


def exit_status(settings: ConsumingServiceSettings) -> int:
    if settings.health_port:
        url = local_url(settings.health_host, settings.health_port, "/readyz")
        return http_exit_status(settings.service_name, url)
    try:
        check(settings)
    except Exception as error:
        print(f"{settings.service_name} unhealthy: {error!r}", file=sys.stderr)
        return 1
    return 0


def http_exit_status(name: str, url: str) -> int:
    """0 when ``url`` answers 2xx within five seconds."""
    try:
        with urllib.request.urlopen(url, timeout=5):
            pass
    except Exception as error:
        print(f"{name} unhealthy: {url}: {error!r}", file=sys.stderr)
        return 1
    return 0
