"""The base of every Roster settings class: where a value comes from (the environment, else a file
named like its variable in ``ROSTER_SECRETS_DIR``, else its default) and how a bad one stops the
process (``BadSettings``: each variable named, never its value)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsError

DEFAULT_STATE_DIR = Path("var")
SECRETS_DIR_VARIABLE = "ROSTER_SECRETS_DIR"


def configured_secrets_dir() -> Path | None:
    """The secrets directory, when ``ROSTER_SECRETS_DIR`` names one. A named directory that is not
    there is a mistake (a secret volume not mounted), so it stops the start rather than leaving every
    secret to its default."""
    configured = os.environ.get(SECRETS_DIR_VARIABLE, "")
    if not configured:
        return None
    directory = Path(configured)
    if not directory.is_dir():
        raise SettingsError(
            f"{SECRETS_DIR_VARIABLE}={configured} is not a directory (is the secret mounted?)"
        )
    return directory


class BadSettings(SystemExit):
    """A process refuses to start on bad settings, naming each variable and what is wrong with it,
    and never the value: pydantic's own message quotes the input, which may be a token or a password
    (docs/operations.md, "Secure"). A ``SystemExit``: the message alone, no traceback, exit status 1."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("bad settings: " + "; ".join(reasons))
        self.reasons = reasons


def _reason(settings_cls: type[BaseSettings], error: ErrorDetails) -> str:
    """``VARIABLE: what is wrong``: the variable a field's error names (an alias as it is, a field with
    the class's prefix); a check across fields names its variables itself."""
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:
        return message
    name = str(error["loc"][0])
    if name in settings_cls.model_fields and settings_cls.model_fields[name].validation_alias is None:
        name = f"{settings_cls.model_config.get('env_prefix', '')}{name}".upper()
    return f"{name}: {message}"


class RosterSettings(BaseSettings):
    """The environment first, then a file per variable in the secrets directory, then the defaults."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise BadSettings([_reason(type(self), item) for item in error.errors()]) from None
        except SettingsError as error:
            raise BadSettings([str(error)]) from None

    secrets_dir: Path | None = Field(
        default=None,
        validation_alias=SECRETS_DIR_VARIABLE,
        description="A directory of secret files, one per variable, named like it (e.g. `/run/secrets`);"
        " a variable set in the environment wins. Named but missing: the process does not start.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        secrets = configured_secrets_dir()
        if secrets is None:
            return init_settings, env_settings
        return init_settings, env_settings, SecretsSettingsSource(settings_cls, secrets_dir=secrets)
