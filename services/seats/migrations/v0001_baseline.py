"""Baseline: the seats schema of Roster 0.1.0 (seat limits, seats held, inbox and outbox).

Roster 0.1.0 created these tables with ``create_all``; a database it made has them and no version,
and is stamped with this revision before upgrading (``servicekit.migrations``). Plain SQLAlchemy
types, so this revision never changes with the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from servicekit.migration_env.messaging_0_1 import create_inbox_and_outbox, drop_inbox_and_outbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE_TABLES = (
    "inbox",
    "outbox",
    "seat_limits",
    "seats",
)


def upgrade() -> None:
    create_inbox_and_outbox()
    op.create_table(
        "seat_limits",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("seat_limit", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant"),
    )
    op.create_table(
        "seats",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("seats")
    op.drop_table("seat_limits")
    drop_inbox_and_outbox()
