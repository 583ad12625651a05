"""Dead-letter decisions: which dead letters an operator replayed or discarded, and when.

The dead letters stay on Kafka; this table holds only the decision per dead letter
(``<dlq topic>:<partition>:<offset>``), so each is replayed or discarded once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dead_letter_decisions",
        sa.Column("dead_letter_id", sa.String(), nullable=False),
        sa.Column("decision", sa.String(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replay_message_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("dead_letter_id"),
    )


def downgrade() -> None:
    op.drop_table("dead_letter_decisions")
