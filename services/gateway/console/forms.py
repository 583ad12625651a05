"""The console's forms, read into the admin API's own input models where one exists, so a value the
API refuses is refused here by the same rule; a refusal becomes one sentence on the page."""

from __future__ import annotations

from typing import Literal, TypeVar

from fastapi import Request
from pydantic import BaseModel, Field, ValidationError, model_validator

from services.gateway.admin.seats import MAX_SEAT_LIMIT
from services.gateway.console.access import CSRF_FIELD
from services.gateway.http.body import read_form_body
from services.gateway.http.storable import NUL

Model = TypeVar("Model", bound=BaseModel)


class FormRefused(ValueError):
    """A form value that does not fit: ``message`` says which and why, for the page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignIn(BaseModel):
    admin_token: str = Field(min_length=1, max_length=1000)


class UserSearch(BaseModel):
    q: str | None = Field(default=None, max_length=200)


class DefaultManagerForm(BaseModel):
    action: Literal["choose", "clear"]
    user_id: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _someone_chosen(self) -> DefaultManagerForm:
        if self.action == "choose" and self.user_id is None:
            raise ValueError("choose a user to make default manager")
        return self


class TokenChoice(BaseModel):
    token_id: int = Field(ge=1)


LABELS = {
    "admin_token": "Admin token",
    "q": "Search",
    "limit": "Seat limit",
    "user_id": "User",
    "token_id": "Token",
    "action": "Action",
    "outcome": "Outcome",
    "user": "User",
    "team": "Team",
    "since": "Since",
    "until": "Until",
    "correlation_id": "Correlation id",
    "request_id": "Request id",
    "after": "Page",
}


_A_TIME = "a time such as 2026-03-02T09:30:00Z, or a date such as 2026-03-02"
EXPECTED = {
    "limit": f"a whole number from 0 to {MAX_SEAT_LIMIT:,}",
    "token_id": "the number of an active token",
    "since": _A_TIME,
    "until": _A_TIME,
}
"""What a field takes, said instead of the parser's words when a value does not parse or fit."""


def parsed(model: type[Model], values: dict[str, str]) -> Model:
    """``values`` as ``model``, each read from its text as a JSON value would be (``"5"`` is 5 even for
    the admin API's strict fields); empty fields count as not given."""
    given = {name: value for name, value in values.items() if value.strip() and name != CSRF_FIELD}
    for name, value in given.items():
        # A form body is not JSON, so the API edge's NUL check (http/storable.py) never saw it.
        if NUL in value:
            raise FormRefused(
                f"{LABELS.get(name, name)}: contains a NUL character, which Roster cannot store."
            )
    try:
        return model.model_validate_strings(given)  # form fields are text, also for a strict model
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        reason = str(first["msg"]).removeprefix("Value error, ")
        if field in EXPECTED and first["type"] not in ("value_error", "missing"):
            reason = f"enter {EXPECTED[field]}"
        raise FormRefused(f"{LABELS.get(field, field or 'Form')}: {reason}.") from None


async def form_values(request: Request) -> dict[str, str]:
    await read_form_body(request)
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}
