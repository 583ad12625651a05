"""Teams queries: GET /Groups, GET /Groups/{id} and the admin listing, from this service's own tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from contracts.envelope import Envelope
from contracts.listing import IDS_PER_PAGE
from contracts.teams import (
    GetTeam,
    ListGroups,
    ListTeamMembers,
    ListTeams,
    TeamMembers,
    TeamPage,
    TeamReply,
)
from servicekit.records import Outgoing, reply_to
from services.teams import domain, group_filters, listing_store, store
from services.teams.group_filters import GroupFilter
from services.teams.listing_store import GroupOrder
from services.teams.messages import PRODUCER
from services.teams.store import TeamRow


def get_team(session: Session, envelope: Envelope, query: GetTeam) -> list[Outgoing]:
    """A team larger than one page of members comes without them (``members`` None): the reader pages
    them with ``ListTeamMembers``, so no reply grows with the team."""
    row = store.get_team(session, tenant=envelope.tenant, team_id=query.team_id)
    row = (
        domain.ensure_team(row, query.team_id)
        if query.any_source
        else domain.ensure_group(row, query.team_id)
    )
    record = store.team_record(
        session, row=row, include_members=query.include_members, members_up_to=IDS_PER_PAGE
    )
    return reply_to(envelope, TeamReply(team=record), producer=PRODUCER)


def list_team_members(session: Session, envelope: Envelope, query: ListTeamMembers) -> list[Outgoing]:
    row = store.get_team(session, tenant=envelope.tenant, team_id=query.team_id)
    row = (
        domain.ensure_team(row, query.team_id)
        if query.any_source
        else domain.ensure_group(row, query.team_id)
    )
    members = store.members_page(session, row=row, after=query.after, limit=query.limit)
    return reply_to(envelope, TeamMembers(members=tuple(members)), producer=PRODUCER)


def list_groups(session: Session, envelope: Envelope, query: ListGroups) -> list[Outgoing]:
    tenant = envelope.tenant
    order = (
        group_filters.sort_order(query.sort_by, descending=query.sort_descending) if query.sort_by else None
    )
    offset = query.start_index - 1
    if query.filter:
        found = _filtered(session, tenant, group_filters.parse(query.filter), order)
        total, rows = len(found), found[offset : offset + query.count]
    else:
        total = listing_store.count_groups(session, tenant=tenant)
        rows = []
        if query.count:
            rows = listing_store.page_groups(
                session, tenant=tenant, order=order, offset=offset, limit=query.count
            )
    if query.include_members:
        rows = _within_member_budget(rows)
    records = listing_store.team_records(session, rows=rows, include_members=query.include_members)
    page = TeamPage(total_results=total, start_index=query.start_index, teams=tuple(records))
    return reply_to(envelope, page, producer=PRODUCER)


def _filtered(session: Session, tenant: str, parsed: GroupFilter, order: GroupOrder | None) -> list[TeamRow]:
    """The groups the filter matches, in order: narrowed in SQL, decided by scim2-models' matcher."""
    narrowing = parsed.narrowing
    candidates = listing_store.group_candidates(session, tenant=tenant, narrowing=narrowing, order=order)
    if not parsed.names_members:
        return [row for row in candidates if parsed.matches(row, None)]
    if parsed.member_ids is not None:
        members = store.members_by_team(session, rows=candidates, among=parsed.member_ids)
        return [row for row in candidates if row.seq is not None and parsed.matches(row, members[row.seq])]
    total = sum(row.member_count for row in candidates)
    if total > domain.MAX_FILTERED_MEMBERS:
        raise domain.TooMany(
            f"This filter would have to look through {total} group members (at most"
            f" {domain.MAX_FILTERED_MEMBERS}): add id eq, externalId eq or displayName eq to it."
        )
    members = store.members_by_team(session, rows=candidates)
    return [row for row in candidates if row.seq is not None and parsed.matches(row, members[row.seq])]


def list_teams(session: Session, envelope: Envelope, query: ListTeams) -> list[Outgoing]:
    """Teams larger than one page of members come without them, as from ``get_team``."""
    total, rows = listing_store.teams_of_source(
        session, tenant=envelope.tenant, source=query.source, offset=query.start_index - 1, limit=query.count
    )
    if query.include_members:
        rows = _within_member_budget(rows, paged_above=IDS_PER_PAGE)
    records = listing_store.team_records(
        session, rows=rows, include_members=query.include_members, members_up_to=IDS_PER_PAGE
    )
    page = TeamPage(total_results=total, start_index=query.start_index, teams=tuple(records))
    return reply_to(envelope, page, producer=PRODUCER)


def _within_member_budget(rows: Sequence[TeamRow], *, paged_above: int | None = None) -> list[TeamRow]:
    """A list never fails for holding big groups (Okta's "Test API Credentials" lists them): the page
    is cut short where its members would exceed one reply — RFC 7644 §3.4.2.4 lets ``itemsPerPage``
    fall short of ``count``; the client pages on from there. Only a single group too big on its own
    is refused, as reading it alone would be. Teams above ``paged_above`` members come without them
    (their reader pages them), so they cost the reply nothing."""
    kept, members = 0, 0
    for row in rows:
        if paged_above is not None and row.member_count > paged_above:
            kept += 1
            continue
        members += row.member_count
        if members > domain.MAX_REPLY_MEMBERS and kept:
            break
        kept += 1
    _ensure_sendable(rows[:kept], advice="use excludedAttributes=members", paged_above=paged_above)
    return list(rows[:kept])


def _ensure_sendable(rows: Sequence[TeamRow], *, advice: str, paged_above: int | None = None) -> None:
    """A reply must stay under the 8 MiB message limit."""
    total = sum(row.member_count for row in rows if paged_above is None or row.member_count <= paged_above)
    if total > domain.MAX_REPLY_MEMBERS:
        raise domain.TooMany(
            f"The answer would list {total} members, more than the {domain.MAX_REPLY_MEMBERS} one"
            f" response can hold: {advice}."
        )
