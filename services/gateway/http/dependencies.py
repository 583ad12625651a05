"""What a route gets from the running app: settings, the owners' clients, a database session.

A dependency that only reads the app's state is ``async``: FastAPI runs a plain ``def`` dependency in a
worker thread, and the hop there and back would cost more than the dependency itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session

from services.gateway.config import GatewaySettings
from services.gateway.http.known_tokens import KnownTokens
from services.gateway.owners import Owners
from services.gateway.unanswered_creates import UnansweredCreates


async def _settings(request: Request) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


async def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _session(engine: Annotated[Engine, Depends(_engine)]) -> Iterator[Session]:
    """For routes that only touch the gateway's database; never held while a route waits on Kafka."""
    with Session(engine) as session:
        yield session


async def _known_tokens(request: Request) -> KnownTokens:
    known: KnownTokens = request.app.state.known_tokens
    return known


async def _unanswered_creates(request: Request) -> UnansweredCreates:
    unanswered: UnansweredCreates = request.app.state.unanswered_creates
    return unanswered


async def _owners(request: Request) -> Owners:
    owners: Owners = request.app.state.owners
    return owners


SettingsDep = Annotated[GatewaySettings, Depends(_settings)]
EngineDep = Annotated[Engine, Depends(_engine)]
SessionDep = Annotated[Session, Depends(_session)]
OwnersDep = Annotated[Owners, Depends(_owners)]
KnownTokensDep = Annotated[KnownTokens, Depends(_known_tokens)]
UnansweredCreatesDep = Annotated[UnansweredCreates, Depends(_unanswered_creates)]
