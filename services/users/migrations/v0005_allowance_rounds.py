"""The round of the last allowance recall answered, and running totals of the seats received and
given back, which the seats service counts a return against (docs/architecture.md §4). Existing
tenants start at round 0 with nothing counted."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_COLUMNS = ("round", "received_total", "returned_total")


def upgrade() -> None:
    with op.batch_alter_table("seat_allowances") as table:
        for name in _COLUMNS:
            table.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("seat_allowances") as table:
        for name in reversed(_COLUMNS):
            table.drop_column(name)
