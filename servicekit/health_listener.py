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


class CannotListen(RuntimeError):
    """A port a process was given to listen on that it cannot have (taken, or not allowed)."""


class HealthListener:
    def __init__(
        self, *, host: str, port: int, checks: Mapping[str, Check], routers: Sequence[APIRouter] = ()
    ) -> None:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        app.include_router(health_router(lambda _request: checks))
        for router in routers:
            app.include_router(router)
        app.add_middleware(HeadAsGet)  # a load balancer's HEAD /readyz
        # log_config=None: uvicorn's own lines go through the process's handler (servicekit/logs.py),
        # as JSON like every other line, instead of the plain-text handlers it would install.
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", log_config=None, access_log=False, lifespan="off"
        )
        self._server = _QuietServer(config)
        self._task: asyncio.Task[None] | None = None
        self.url = f"http://{host}:{port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._serve(), name="health listener")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise CannotListen(
                    f"cannot listen on {self.url} for health checks (the line before says why)"
                )
            await asyncio.sleep(0.02)

    async def _serve(self) -> None:
        # uvicorn logs why it could not listen, then raises SystemExit, which a task must not let
        # escape (asyncio would stop the whole process with it): ``start`` says so instead.
        with contextlib.suppress(SystemExit):
            await self._server.serve()

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
