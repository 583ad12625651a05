"""Baseline: the gateway schema of Roster 0.1.0 (tenants and the hashes of their SCIM tokens).

Roster 0.1.0 created these tables with ``create_all``; a database it made has them and no version,
and is stamped with this revision before upgrading (``servicekit.migrations``). Plain SQLAlchemy
types, so this revision never changes with the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BASELINE_TABLES = (
    "scim_tokens",
    "tenants",
)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_scim_tokens_tenant_id"), "scim_tokens", ["tenant_id"], unique=False)
    op.create_index(op.f("ix_scim_tokens_token_hash"), "scim_tokens", ["token_hash"], unique=True)


def downgrade() -> None:
    op.drop_table("scim_tokens")
    op.drop_table("tenants")
