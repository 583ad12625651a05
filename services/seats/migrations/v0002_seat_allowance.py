"""The users service's seat allowance: seats set aside for it, and limit changes waiting for it to
give them back (docs/architecture.md §4); existing tenants start with none set aside. And the seats
held, kept per tenant instead of counted at each decision: counted once here."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("seat_limits") as table:
        table.add_column(sa.Column("allowance", sa.Integer(), nullable=False, server_default="0"))
        table.add_column(sa.Column("used", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE seat_limits SET used = (SELECT COUNT(*) FROM seats WHERE seats.tenant = seat_limits.tenant)"
    )
    op.create_table(
        "seat_allowance_recalls",
        sa.Column("recall_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("reply_to", sa.String(), nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("recall_id"),
    )
    op.create_index("ix_seat_allowance_recalls_tenant", "seat_allowance_recalls", ["tenant"])


def downgrade() -> None:
    op.drop_index("ix_seat_allowance_recalls_tenant", table_name="seat_allowance_recalls")
    op.drop_table("seat_allowance_recalls")
    with op.batch_alter_table("seat_limits") as table:
        table.drop_column("used")
        table.drop_column("allowance")
