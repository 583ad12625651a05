"""The CLI keeps its own copy of the admin API's answers (it imports nothing of the server): each copy
reads every field the admin API sends, so `--json` passes on all of it and nothing is silently dropped."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from contracts import activity, teams, users
from roster_cli import models
from services.gateway.admin import activity as admin_activity
from services.gateway.admin import dead_letters, seats, tenants, tokens
from services.gateway.admin import teams as admin_teams

COPIES: list[tuple[type[BaseModel], type[BaseModel]]] = [
    (models.Tenant, tenants.TenantOut),
    (models.IssuedToken, tenants.IssuedToken),
    (models.Revoked, tenants.Revoked),
    (models.ActiveToken, tokens.ActiveToken),
    (models.ActiveTokens, tokens.ActiveTokens),
    (models.RevokedToken, tokens.RevokedToken),
    (models.SeatUsage, seats.SeatUsageOut),
    (models.SeatDrift, seats.ReconcileOut),
    (models.TeamMember, teams.TeamMember),
    (models.Team, teams.TeamRecord),
    (models.TeamPage, admin_teams.TeamsOut),
    (models.DefaultManager, users.DefaultManager),
    (models.DeadLetterEnvelope, dead_letters.EnvelopeOut),
    (models.DeadLetter, dead_letters.DeadLetterOut),
    (models.DeadLetterList, dead_letters.DeadLetterList),
    (models.ActivityEntry, activity.ActivityEntry),
    (models.ActivityPage, admin_activity.ActivityOut),
]


def _sent(model: type[BaseModel]) -> set[str]:
    return {field.serialization_alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(("copy", "answer"), COPIES, ids=[copy.__name__ for copy, _ in COPIES])
def test_each_copy_reads_every_field_the_admin_api_sends(
    copy: type[BaseModel], answer: type[BaseModel]
) -> None:
    assert _sent(answer) - _sent(copy) == set()
