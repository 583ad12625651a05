"""docs/configuration.md is the settings classes, rendered: a setting added, renamed or redescribed
without regenerating it fails here, and so does a setting without a description."""

from __future__ import annotations

import pytest
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from servicekit import settings_doc
from servicekit.settings import ConsumingServiceSettings


def test_the_committed_document_is_what_the_settings_classes_render() -> None:
    committed = settings_doc.DOCUMENT.read_text()
    assert committed == settings_doc.rendered_document(), (
        "docs/configuration.md differs from the settings: run `python -m servicekit.settings_doc --write`"
    )


def test_every_process_and_every_variable_it_reads_is_in_the_table() -> None:
    processes, _ = settings_doc.rows()
    assert processes == ["activity", "gateway", "seats", "teams", "users"]
    table = settings_doc.table()
    for cls in settings_doc.process_settings().values():
        for name, info in cls.model_fields.items():
            variable = settings_doc.variable_name(cls, name, info)
            service = variable.split("_", 1)[0]
            prefixed = service in ("USERS", "SEATS", "TEAMS", "ACTIVITY")
            shown = variable[len(service) + 1 :] if prefixed else variable
            assert shown in table, variable
    assert "| `<SERVICE>_HEALTH_PORT` | activity, seats, teams, users | int ≥ 0 ≤ 65535 | `0` |" in table
    assert "| `ROSTER_ADMIN_TOKEN` | gateway | secret | required |" in table
    assert "| `KAFKA_BOOTSTRAP_SERVERS` | every process | str | `127.0.0.1:9092` |" in table


def test_a_setting_without_a_description_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    class Undocumented(ConsumingServiceSettings):
        model_config = SettingsConfigDict(env_prefix="USERS_", extra="ignore", frozen=True)

        service_name: str = Field(default="users", description="the service")
        mystery_knob: int = 3

    monkeypatch.setattr(settings_doc, "process_settings", lambda: {"users": Undocumented})
    with pytest.raises(ValueError, match="`USERS_MYSTERY_KNOB` has no description"):
        settings_doc.table()
