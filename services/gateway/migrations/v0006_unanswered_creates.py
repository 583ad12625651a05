"""Creates answered 503, shared by every gateway instance.

The same POST sent again after a 503 is answered with the user its first attempt made, whichever
gateway instance it reaches (``services/gateway/unanswered_creates.py``). Before this revision each
instance kept them in its memory; nothing to carry over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unanswered_creates",
        sa.Column("tenant_id", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("profile", sa.String(), nullable=False),
        sa.Column("answered_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "user_name"),
    )
    op.create_index("ix_unanswered_creates_answered_at", "unanswered_creates", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_unanswered_creates_answered_at", table_name="unanswered_creates")
    op.drop_table("unanswered_creates")
