"""The gateway's own database for app-level tests: one tenant and its SCIM token."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from servicekit import migrations
from servicekit.db import make_engine
from services.gateway import store
from services.gateway.schema import SCHEMA


def gateway_database(directory: Path, *, tenant_name: str = "Initech") -> tuple[Engine, str, str]:
    """A fresh SQLite database holding one tenant: the engine, the tenant's id and its SCIM token."""
    engine = make_engine(f"sqlite:///{directory / 'gateway.db'}")
    migrations.upgrade(engine, SCHEMA)
    with Session(engine) as session:
        tenant_id = store.create_tenant(session, name=tenant_name).id
        token = store.issue_token(session, tenant_id=tenant_id)
        session.commit()
    return engine, tenant_id, token
