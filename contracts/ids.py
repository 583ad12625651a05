"""User and team ids: Roster mints every one (RFC 7643 §3.1: ``id`` is assigned by the service provider;
an identity provider's own identifier is ``externalId``), always a UUID in its canonical text form."""

from __future__ import annotations

import re
from uuid import uuid4

_MINTED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def mint_id() -> str:
    return str(uuid4())


def is_minted_id(text: str) -> bool:
    """True when ``text`` has the shape of an id Roster mints: any other can name no user or team."""
    return _MINTED.fullmatch(text) is not None
