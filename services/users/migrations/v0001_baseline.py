"""Baseline: the users schema of Roster 0.1.0 (users, their search index, pending seat changes,
the manager relation, inbox and outbox).

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
    "manager_defaults",
    "outbox",
    "pending_user_changes",
    "user_attributes",
    "user_managers",
    "user_search_index_state",
    "users",
)


def upgrade() -> None:
    create_inbox_and_outbox()
    op.create_table(
        "manager_defaults",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("chosen_id", sa.String(), nullable=True),
        sa.Column("first_coach_id", sa.String(), nullable=True),
        sa.Column("effective_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("tenant"),
    )
    op.create_table(
        "pending_user_changes",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("user_name_key", sa.String(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("expected_version", sa.Integer(), nullable=True),
        sa.Column("reply_to", sa.String(), nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("tenant", "user_name_key", name="uq_pending_tenant_user_name"),
    )
    op.create_index(op.f("ix_pending_user_changes_tenant"), "pending_user_changes", ["tenant"], unique=False)
    op.create_table(
        "user_managers",
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=True),
        sa.Column("ref_exact", sa.String(), nullable=True),
        sa.Column("ref_folded", sa.String(), nullable=True),
        sa.Column("manager_id", sa.String(), nullable=True),
        sa.Column("via", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_user_managers_manager", "user_managers", ["tenant", "manager_id"], unique=False)
    op.create_index("ix_user_managers_ref_exact", "user_managers", ["tenant", "ref_exact"], unique=False)
    op.create_index("ix_user_managers_ref_folded", "user_managers", ["tenant", "ref_folded"], unique=False)
    op.create_index("ix_user_managers_via", "user_managers", ["tenant", "via"], unique=False)
    op.create_table(
        "user_search_index_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "users",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("user_name_key", sa.String(), nullable=True),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("tenant", "user_name_key", name="uq_users_tenant_user_name"),
    )
    op.create_index(op.f("ix_users_external_id"), "users", ["external_id"], unique=False)
    op.create_index(op.f("ix_users_id"), "users", ["id"], unique=True)
    op.create_index(op.f("ix_users_tenant"), "users", ["tenant"], unique=False)
    op.create_table(
        "user_attributes",
        sa.Column("user_seq", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("element", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("value_key", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=True),
        sa.Column("sort", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_seq"], ["users.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_seq", "path", "element"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_user_attributes_lookup",
        "user_attributes",
        ["tenant", "path", sa.literal_column("substr(value_key, 1, 100)"), "user_seq"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("user_attributes")
    op.drop_table("users")
    op.drop_table("user_search_index_state")
    op.drop_table("user_managers")
    op.drop_table("pending_user_changes")
    op.drop_table("manager_defaults")
    drop_inbox_and_outbox()
