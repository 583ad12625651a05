"""Data: userName keys become the key filters compare by (NFC, lower case, NFC again).

Until this revision a key was NFC then lower case. For the few names whose lower case composes
further (a decomposed capital with no precomposed form: "J\u030c" → "j\u030c" → "\u01f0") the two
differed, so two users whose names a ``userName eq`` filter cannot tell apart could both be created.
This rewrites those keys (``backfills.rekey_user_names``), or refuses, changing nothing, when two
users already hold names that are now one.
"""

from __future__ import annotations

import unicodedata

from alembic import op

from services.users.backfills import rekey_user_names

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rekey_user_names(op.get_bind(), key_of=key_since_0004)


def downgrade() -> None:
    rekey_user_names(op.get_bind(), key_of=key_before_0004)


# Both keys spelt out here, not taken from the running code, so this revision writes the same keys
# whatever a later release (or scim2-models' default comparison) makes ``domain.user_name_key``.
def key_since_0004(user_name: str) -> str:
    nfc = unicodedata.normalize("NFC", user_name)
    return unicodedata.normalize("NFC", nfc.lower()).replace("\x00", "\ufffd")


def key_before_0004(user_name: str) -> str:
    return unicodedata.normalize("NFC", user_name).lower().replace("\x00", "\ufffd")
