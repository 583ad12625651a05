"""Recalls of the users service's allowance numbered in rounds, and its last counted return: a
return then also frees the seats of grants that never reached it (docs/architecture.md §4). Existing
tenants start at round 0 with nothing counted; grants made before this revision are not counted
against later returns."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = ("allowance_round", "answered_round", "granted_since_return", "returned_seen")


def upgrade() -> None:
    with op.batch_alter_table("seat_limits") as table:
        for name in _COLUMNS:
            table.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("seat_limits") as table:
        for name in reversed(_COLUMNS):
            table.drop_column(name)
