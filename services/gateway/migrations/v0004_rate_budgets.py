"""Rate budgets: one token bucket per tenant in the gateway database, shared by every instance.

Each gateway leases slices of a tenant's budget from its row (``services/gateway/rate_leases.py``),
so the per-tenant rate limit holds across instances instead of multiplying with them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_budgets",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )


def downgrade() -> None:
    op.drop_table("rate_budgets")
