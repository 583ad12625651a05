"""Tenant names unique as SCIM compares a displayName: the ``name_key`` column and its unique index.

SQL's ``lower()`` folds ASCII only, so 0.1.0 let ``Ä-x`` and ``ä-x`` both exist. The key is computed
by the gateway's own rule (``store.tenant_name_key``) for every existing tenant. Two existing
tenants whose keys clash stop the upgrade with their ids: which of them keeps the name is an
operator's decision, not a migration's.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

from services.gateway.store import tenant_name_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TENANTS = sa.table("tenants", sa.column("id", sa.String()), sa.column("name", sa.String()),
                    sa.column("name_key", sa.String()))  # fmt: skip


class TenantNamesClash(RuntimeError):
    """Existing tenants whose names differ only in case or Unicode normalisation."""


def upgrade() -> None:
    op.add_column("tenants", sa.Column("name_key", sa.String(), nullable=True))
    connection = op.get_bind()
    tenants = connection.execute(sa.select(_TENANTS.c.id, _TENANTS.c.name)).all()
    holders: dict[str, list[str]] = defaultdict(list)
    for tenant_id, name in tenants:
        holders[tenant_name_key(name)].append(tenant_id)
    clashes = {key: ids for key, ids in holders.items() if len(ids) > 1}
    if clashes:
        raise TenantNamesClash(f"tenants whose names differ only in case or normalisation: {clashes}")
    for key, (tenant_id,) in holders.items():
        connection.execute(_TENANTS.update().where(_TENANTS.c.id == tenant_id).values(name_key=key))
    # Batch mode: SQLite cannot make a column NOT NULL in place; Alembic copies the table (with
    # foreign keys checked after the upgrade, servicekit.migrations.upgrade).
    with op.batch_alter_table("tenants") as batch:
        batch.alter_column("name_key", existing_type=sa.String(), nullable=False)
        batch.create_index("ix_tenants_name_key", ["name_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_index("ix_tenants_name_key")
        batch.drop_column("name_key")
