"""Dead-letter decisions name the dead letter they were taken on by its time too.

A dead letter's id (``<dlq topic>:<partition>:<offset>``) comes back when its topic is recreated (a
rebuilt cluster, a deleted ``.dlq`` topic) and offsets start again at 0: the decision on the old one
must not pass for a decision on the new one. Decisions taken before this revision have no time and keep
applying to their id.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letter_decisions") as table:
        table.add_column(sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letter_decisions") as table:
        table.drop_column("dead_lettered_at")
