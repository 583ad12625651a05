"""A pooled PostgreSQL connection is checked before use only when it has been idle a while.

SQLAlchemy's ``pool_pre_ping`` sends ``SELECT 1`` at every checkout, one more round trip per
transaction: a lookup (BEGIN, SELECT, COMMIT) pays four instead of three, and under load the
connection it checks was working a few milliseconds ago. Neither SQLAlchemy's pool nor psycopg's
checks only connections that sat idle, so this one does, with the pool's own events: a connection
back in the pool for ``idle_seconds`` or more, or whose return time is not known, is pinged at
checkout, and one that fails the ping is replaced (``DisconnectionError`` makes the pool discard it
and check out another). What the ping is for — a server restarted, a proxy or firewall dropping idle
connections — happens to connections at rest. A connection that dies within the second after it was
used fails its next transaction instead: SQLAlchemy then recycles every connection of the pool made
before that moment, and the message is handled again (docs/architecture.md §3: a failed attempt is
redelivered).
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError

IDLE_SECONDS = 1.0
_RETURNED_AT = "roster_returned_at"


def ping_after_idle(engine: Engine, *, idle_seconds: float = IDLE_SECONDS) -> None:
    """Check a connection at checkout once it has been idle ``idle_seconds`` (see the module)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        # ``record.info`` lives as long as the DBAPI connection: a replaced one starts without it.
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop(_RETURNED_AT, None)
        if returned is not None and time.monotonic() - returned < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"a pooled connection failed its ping: {error}") from error
