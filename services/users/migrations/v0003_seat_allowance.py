"""The seats the seats service set aside for this service, per tenant (docs/architecture.md §4)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seat_allowances",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("unspent", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant"),
    )


def downgrade() -> None:
    op.drop_table("seat_allowances")
