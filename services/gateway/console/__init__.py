"""The operators' web console under ``/console/``: server-rendered pages over the admin API's functions."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.gateway.config import GatewaySettings
from services.gateway.console import activity_page, auth_routes, changes, pages
from services.gateway.console.rendering import CONSOLE_ERROR_HANDLERS, answer_console_paths_with_pages
from services.gateway.console.sessions import Sessions

STATIC = Path(__file__).parent / "static"
ROUTERS = (auth_routes.router, pages.router, changes.router, activity_page.router)


def install(app: FastAPI, settings: GatewaySettings) -> None:
    app.state.console_sessions = Sessions.from_settings(settings)
    for router in ROUTERS:
        app.include_router(router)
    # The stylesheet only: no page, no tenant data, so it needs no session (the sign-in page uses it).
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for error, handler in CONSOLE_ERROR_HANDLERS.items():
        app.add_exception_handler(error, handler)
    answer_console_paths_with_pages(app)  # after the app's own error handlers: in their place
