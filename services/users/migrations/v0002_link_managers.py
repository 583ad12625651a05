"""Data: resolve the managers of users stored before manager resolution existed, and announce them.

Until 0.1.0 this ran at every start. Every user written by 0.1.0 or later has its ``user_managers``
row, so this finds nothing on their databases; on an older one it links each user as the service
would (its own resolution code, so the links are exactly the running service's) and puts the
events in the outbox, which the service relays once it starts. The search index is refreshed
first: resolution looks references up in it.
"""

from __future__ import annotations

from alembic import op

from services.users.backfills import link_managers, refresh_search_index

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    refresh_search_index(connection)
    link_managers(connection)


def downgrade() -> None:
    pass  # the links are data the service keeps up to date; nothing to undo
