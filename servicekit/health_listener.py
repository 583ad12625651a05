"""A service process's health HTTP listener: ``/livez`` and ``/readyz`` (``servicekit/readiness.py``)
on ``<SERVICE>_HEALTH_HOST``:``<SERVICE>_HEALTH_PORT``, served on the service's own event loop, so
a blocked loop fails liveness. Other operational routes (``/metrics``) ride on the same listener."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator, Mapping, Sequence

import uvicorn
from fastapi import APIRouter, FastAPI

from servicekit.head_requests import HeadAsGet
from servicekit.readiness import Check, health_router


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # The service handles SIGTERM/SIGINT itself (servicekit/service.py) and stops this server.
        yield


class HealthListener:
    def __init__(
        self, *, host: str, port: int, checks: Mapping[str, Check], routers: Sequence[APIRouter] = ()
    ) -> None:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        app.include_router(health_router(lambda _request: checks))
        for router in routers:
            app.include_router(router)
        app.add_middleware(HeadAsGet)  # a load balancer's HEAD /readyz
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", access_log=False, lifespan="off"
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None
        self.url = f"http://{host}:{port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(), name="health listener")
        while not self._server.started:
            if self._task.done():
                await self._task  # raises why it could not listen (e.g. the port is taken)
                raise RuntimeError(f"the health listener on {self.url} stopped at start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
