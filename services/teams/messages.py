"""What the teams service sends: its events, membership deltas cut into bounded pieces."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.envelope import Envelope, Message, wrap_descendant
from contracts.sources import ChangeSource
from contracts.teams import MEMBERS_PER_EVENT, TeamMembersChanged
from contracts.topics import TEAMS_EVENTS, resource_key
from servicekit.records import Outgoing

PRODUCER = "teams"


def team_event(cause: Envelope, team_id: str, message: Message) -> Outgoing:
    envelope = wrap_descendant(message, cause=cause, producer=PRODUCER)
    return Outgoing(topic=TEAMS_EVENTS, key=resource_key(cause.tenant, team_id), envelope=envelope)


def members_changed(
    cause: Envelope,
    team_id: str,
    *,
    added: Sequence[str],
    removed: Sequence[str],
    source: ChangeSource,
) -> list[Outgoing]:
    """``TeamMembersChanged`` events for one delta (none if it is empty), each at most
    ``MEMBERS_PER_EVENT`` ids: removals first, so a consumer applying them in order ends right."""
    changes = [*(("removed", user_id) for user_id in removed), *(("added", user_id) for user_id in added)]
    events = []
    for start in range(0, len(changes), MEMBERS_PER_EVENT):
        piece = changes[start : start + MEMBERS_PER_EVENT]
        event = TeamMembersChanged(
            team_id=team_id,
            added=tuple(user_id for kind, user_id in piece if kind == "added"),
            removed=tuple(user_id for kind, user_id in piece if kind == "removed"),
            source=source,
        )
        events.append(team_event(cause, team_id, event))
    return events
