"""Baseline: the teams schema of Roster 0.1.0 (teams, memberships, the users it knows of, inbox and outbox).

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
    "known_users",
    "outbox",
    "team_members",
    "teams",
)


def upgrade() -> None:
    create_inbox_and_outbox()
    op.create_table(
        "known_users",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=True),
        sa.Column("display_name", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("manager_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", "user_id"),
    )
    op.create_index("ix_known_users_tenant_manager", "known_users", ["tenant", "manager_id"], unique=False)
    op.create_table(
        "teams",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("name_key", sa.String(), nullable=True),
        sa.Column("external_id", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("linked", sa.Boolean(), nullable=False),
        sa.Column("leader_id", sa.String(), nullable=True),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("tenant", "leader_id", name="uq_teams_tenant_leader"),
    )
    op.create_index(op.f("ix_teams_id"), "teams", ["id"], unique=True)
    op.create_index(op.f("ix_teams_tenant"), "teams", ["tenant"], unique=False)
    op.create_index("ix_teams_tenant_name_key", "teams", ["tenant", "name_key"], unique=False)
    op.create_table(
        "team_members",
        sa.Column("team_seq", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["team_seq"], ["teams.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_seq", "user_id"),
    )
    op.create_index("ix_team_members_tenant_user", "team_members", ["tenant", "user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("team_members")
    op.drop_table("teams")
    op.drop_table("known_users")
    drop_inbox_and_outbox()
