"""How much the gateway tolerates from identity providers (scim2-models' ``ScimPolicy``)."""

from __future__ import annotations

from scim2_models import ScimPolicy

TOLERANT = ScimPolicy(unknown=ScimPolicy.Unknown.ignore)
"""RFC 7644 §3.3: attributes (and search parameters) Roster does not know are ignored, not refused;
identity providers send whatever their admins map."""

GROUP_PATCH = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
)
"""Also Microsoft Entra ID's ``remove`` of group members that lists them in its ``value`` rather than
in a path filter (docs/scim-clients.md)."""
