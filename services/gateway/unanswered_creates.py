"""Creates answered 503 that the users service may still complete, kept in the gateway database.

A create the gateway stops waiting for (no reply within ``GATEWAY_REQUEST_TIMEOUT_SECONDS``) is still
in Kafka and completes once the users service handles it. The identity provider, answered 503, sends
the same POST again; the users service then refuses the userName its first attempt took (409), and
Okta marks the user as failed. Every gateway instance records such a create in the database they
share, so the repeated POST, whichever instance it reaches, is answered with the user its first attempt
made (RFC 7644 §3.3: the resource as created; docs/architecture.md §4, "Timeouts").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, delete
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, col

from contracts.users import UserProfile
from servicekit.db import read_session

log = logging.getLogger(__name__)

KEEP_SECONDS = 3600.0  # Okta retries within minutes; Entra ID's next cycle comes within 40 minutes


class UnansweredCreate(SQLModel, table=True):
    __tablename__ = "unanswered_creates"

    tenant_id: str = Field(primary_key=True)
    user_name: str = Field(primary_key=True)  # as sent: the retry sends the same body
    user_id: str
    profile: str  # the UserProfile as JSON: only the very same body finds the id
    answered_at: float = Field(index=True)  # seconds since the epoch, the clock every instance shares


UNANSWERED_TABLES: tuple[type[SQLModel], ...] = (UnansweredCreate,)


def remember(session: Session, *, tenant: str, profile: UserProfile, user_id: str, now: float) -> None:
    """Records the create (the latest for its userName wins) and forgets those past keeping, so the
    table holds at most an hour of 503s."""
    session.execute(delete(UnansweredCreate).where(col(UnansweredCreate.answered_at) < now - KEEP_SECONDS))
    session.merge(
        UnansweredCreate(
            tenant_id=tenant,
            user_name=profile.user_name,
            user_id=user_id,
            profile=profile.model_dump_json(),
            answered_at=now,
        )
    )


def earlier_id(session: Session, *, tenant: str, profile: UserProfile, now: float) -> str | None:
    """The id an unanswered create of this very profile was given, if one was, lately."""
    earlier = session.get(UnansweredCreate, (tenant, profile.user_name))
    if earlier is None or now - earlier.answered_at > KEEP_SECONDS:
        return None
    return earlier.user_id if UserProfile.model_validate_json(earlier.profile) == profile else None


@dataclass(frozen=True)
class UnansweredCreates:
    """For the routes: the database calls off the event loop. ``engine()`` names the gateway's own
    database (known once it started)."""

    engine: Callable[[], Engine]
    wall_clock: Callable[[], float] = time.time

    async def remember(self, tenant: str, profile: UserProfile, user_id: str) -> None:
        """Never fails the 503 it comes with: without the record, a retry is refused 409 as before."""
        try:
            await asyncio.to_thread(self._remember, tenant, profile, user_id)
        except SQLAlchemyError as error:
            log.warning("create of user %s answered 503 not recorded for its retry: %r", user_id, error)

    def _remember(self, tenant: str, profile: UserProfile, user_id: str) -> None:
        with Session(self.engine()) as session, session.begin():
            remember(session, tenant=tenant, profile=profile, user_id=user_id, now=self.wall_clock())

    async def earlier_id(self, tenant: str, profile: UserProfile) -> str | None:
        return await asyncio.to_thread(self._earlier_id, tenant, profile)

    def _earlier_id(self, tenant: str, profile: UserProfile) -> str | None:
        with read_session(self.engine()) as session:
            return earlier_id(session, tenant=tenant, profile=profile, now=self.wall_clock())
