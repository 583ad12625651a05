"""How much the gateway tolerates from identity providers (scim2-models' ``ScimPolicy``)."""

from __future__ import annotations

from scim2_models import ScimPolicy

TOLERANT = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
)
"""RFC 7644 §3.3: attributes (and search parameters) Roster does not know are ignored, not refused;
identity providers send whatever their admins map. Microsoft Entra ID also adds or replaces through a
value filter that matches nothing yet (``phoneNumbers[type eq "mobile"].value`` on a user without a
mobile number) and expects the element to be created (scim-clients.md), and removes ``roles`` by
listing them in ``value`` rather than in a path filter."""

GROUP_PATCH = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
)
"""Also Microsoft Entra ID's ``remove`` of group members that lists them in its ``value`` rather than
in a path filter (docs/scim-clients.md)."""
