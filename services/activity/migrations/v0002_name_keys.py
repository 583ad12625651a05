"""Name filters compare as SCIM does (caseExact false): ``name_key`` on entries and known names; and
an index to find a request by the request id it was answered with.

A filter by userName or group name used to match only the spelling stored, letter case included. Each
entry and each known name now carries the key a filter compares by, computed here for every row
already stored: once per distinct (tenant, name), written by a join with a temporary table of keys.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_KEYSET = ["occurred_at", "entry_id"]
_ACTIVITY = sa.table("activity", sa.column("tenant", sa.String()), sa.column("name", sa.String()),
                     sa.column("name_key", sa.String()))  # fmt: skip
_NAMES = sa.table("activity_names", sa.column("tenant", sa.String()), sa.column("resource_id", sa.String()),
                  sa.column("name", sa.String()), sa.column("name_key", sa.String()))  # fmt: skip


# Spelt out here, not taken from the running code, so this revision writes the same keys whatever a
# later release makes ``domain.name_key`` (today scim2-models' comparison key of a userName).
def key_of(name: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).lower())


def _write_keys(
    connection: sa.Connection, table: sa.TableClause, by: tuple[str, str], rows: list[dict[str, str]]
) -> None:
    """``name_key`` of ``table``'s rows from a temporary table of (``by``, key), in one joined UPDATE:
    an UPDATE per name took PostgreSQL ~90 s for 500,000 entries of 50,000 names, this ~25 s."""
    keys = sa.Table(
        f"{table.name}_keys_0002",
        sa.MetaData(),
        *(sa.Column(column, sa.String(), nullable=False) for column in (*by, "name_key")),
        prefixes=["TEMPORARY"],
    )
    keys.create(connection)
    connection.execute(keys.insert(), rows)
    same = sa.and_(*(table.c[column] == keys.c[column] for column in by))
    connection.execute(table.update().where(same).values(name_key=keys.c.name_key))
    keys.drop(connection)


def upgrade() -> None:
    op.add_column("activity", sa.Column("name_key", sa.String(), nullable=True))
    op.add_column("activity_names", sa.Column("name_key", sa.String(), nullable=True))
    op.drop_index("ix_activity_tenant_name_time", table_name="activity")  # one index fewer to update
    connection = op.get_bind()
    named = connection.execute(sa.select(_ACTIVITY.c.tenant, _ACTIVITY.c.name).distinct()).all()
    if entries := [{"tenant": t, "name": n, "name_key": key_of(n)} for t, n in named if n is not None]:
        _write_keys(connection, _ACTIVITY, ("tenant", "name"), entries)
    known = connection.execute(sa.select(_NAMES.c.tenant, _NAMES.c.resource_id, _NAMES.c.name)).all()
    if names := [{"tenant": t, "resource_id": r, "name_key": key_of(n)} for t, r, n in known]:
        _write_keys(connection, _NAMES, ("tenant", "resource_id"), names)
    op.create_index("ix_activity_tenant_name_key_time", "activity", ["tenant", "name_key", *_KEYSET])
    op.create_index("ix_activity_tenant_request", "activity", ["tenant", "request_id"])
    # Batch mode: SQLite cannot make a column NOT NULL in place; Alembic copies the (small) table.
    with op.batch_alter_table("activity_names") as batch:
        batch.alter_column("name_key", existing_type=sa.String(), nullable=False)
        batch.drop_index("ix_activity_names_tenant_name")
        batch.create_index("ix_activity_names_tenant_name_key", ["tenant", "resource_type", "name_key"])


def downgrade() -> None:
    with op.batch_alter_table("activity_names") as batch:
        batch.drop_index("ix_activity_names_tenant_name_key")
        batch.create_index("ix_activity_names_tenant_name", ["tenant", "resource_type", "name"])
        batch.drop_column("name_key")
    op.drop_index("ix_activity_tenant_request", table_name="activity")
    op.drop_index("ix_activity_tenant_name_key_time", table_name="activity")
    op.create_index("ix_activity_tenant_name_time", "activity", ["tenant", "name", *_KEYSET])
    op.drop_column("activity", "name_key")
