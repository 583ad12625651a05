"""The users database: its tables, its migrations (``migrations/``) and the search index, which
this code computes and versions (``attributes.INDEX_VERSION``)."""

from __future__ import annotations

from pathlib import Path

from servicekit.messaging import MESSAGING_TABLES
from servicekit.migrations import CodeStep, SchemaHistory
from services.users.allowance import ALLOWANCE_TABLES
from services.users.backfills import refresh_search_index, search_index_is_current
from services.users.manager_store import MANAGER_TABLES
from services.users.pending import PENDING_TABLES
from services.users.store import USER_TABLES

SCHEMA = SchemaHistory(
    service="users",
    versions=Path(__file__).with_name("migrations"),
    tables=(*USER_TABLES, *PENDING_TABLES, *MANAGER_TABLES, *ALLOWANCE_TABLES, *MESSAGING_TABLES),
    code_steps=(CodeStep("search index", is_done=search_index_is_current, run=refresh_search_index),),
)
