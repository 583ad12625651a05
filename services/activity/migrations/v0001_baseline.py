"""Baseline: the activity log (its entries, the names users and teams were last seen under), inbox
and outbox. Plain SQLAlchemy types, so this revision never changes with the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from servicekit.migration_env.messaging_0_1 import create_inbox_and_outbox, drop_inbox_and_outbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE_TABLES = ("inbox", "outbox", "activity", "activity_names")
_KEYSET = ["occurred_at", "entry_id"]


def upgrade() -> None:
    create_inbox_and_outbox()
    op.create_table(
        "activity",
        sa.Column("entry_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.Column("resource_type", sa.String(), nullable=True),
        sa.Column("resource_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("client", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("scim_type", sa.String(), nullable=True),
        sa.Column("detail", sa.String(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("entry_id"),
    )
    op.create_index("ix_activity_occurred_at", "activity", ["occurred_at"])
    op.create_index("ix_activity_tenant_correlation_time", "activity", ["tenant", "correlation_id", *_KEYSET])
    op.create_index("ix_activity_tenant_name_time", "activity", ["tenant", "name", *_KEYSET])
    op.create_index("ix_activity_tenant_outcome_time", "activity", ["tenant", "outcome", *_KEYSET])
    op.create_index("ix_activity_tenant_resource_time", "activity", ["tenant", "resource_id", *_KEYSET])
    op.create_index("ix_activity_tenant_time", "activity", ["tenant", *_KEYSET])
    op.create_table(
        "activity_names",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("resource_id", sa.String(), nullable=False),
        sa.Column("resource_type", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "resource_id"),
    )
    op.create_index("ix_activity_names_seen_at", "activity_names", ["seen_at"])
    op.create_index("ix_activity_names_tenant_name", "activity_names", ["tenant", "resource_type", "name"])


def downgrade() -> None:
    op.drop_table("activity_names")
    op.drop_table("activity")
    drop_inbox_and_outbox()
