"""A pooled PostgreSQL connection is checked before use only when it has been idle a while.

SQLAlchemy's ``pool_pre_ping`` pings (an empty statement) at every checkout, one more round trip per
transaction: a lookup (BEGIN, SELECT, COMMIT) pays four instead of three, and under load the
connection it checks was working a few milliseconds ago. Neither SQLAlchemy's pool nor psycopg's
checks only connections that sat idle, so this one does, with the pool's own events: a connection
back in the pool for ``idle_seconds`` or more is pinged at checkout, and one that fails the ping is
replaced (``DisconnectionError`` makes the pool discard it and reconnect). The pool hands out the
connection returned last (``pool_use_lifo``, ``servicekit/db.py``), so under a steady load the same
few stay busy and only the rarely used ones are ever pinged. What the ping is for (a server
restarted, a proxy or firewall dropping idle connections) happens to connections at rest. A
connection that dies within the second after it was used fails its next transaction instead:
SQLAlchemy then recycles every connection of the pool made before that moment, and the message is
handled again (docs/architecture.md §3: a failed attempt is redelivered).
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

    def _used_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    # A connection just made is as good as one just returned. ``record.info`` lives as long as the
    # DBAPI connection (SQLAlchemy clears it before reconnecting a record): a replaced one starts anew.
    event.listen(engine, "connect", _used_now)
    event.listen(engine, "checkin", _used_now)

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.pop(_RETURNED_AT, None)
        if returned is not None and time.monotonic() - returned < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"a pooled connection failed its ping: {error}") from error
