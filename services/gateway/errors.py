"""SCIM Error responses (RFC 7644 §3.12): always ``application/scim+json`` with an actionable detail."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from scim2_models import Error
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.rejections import SCIM_ERROR_FOR
from contracts.replies import CommandRejected

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimResponse(JSONResponse):
    media_type = SCIM_MEDIA_TYPE


class ScimProblem(Exception):
    def __init__(
        self, status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type
        self.headers = headers or {}


RETRY_AFTER_SECONDS = "2"


def problem_for_rejection(rejection: CommandRejected) -> ScimProblem:
    shape = SCIM_ERROR_FOR[rejection.reason]
    # RFC 7231 §7.1.3: a 503 says when to come back; Okta retries those on its own.
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if shape.status == 503 else None
    return ScimProblem(shape.status, rejection.detail, shape.scim_type, headers=headers)


def scim_error_response(problem: ScimProblem) -> ScimResponse:
    error = Error(status=problem.status, scim_type=problem.scim_type, detail=problem.detail)
    body: dict[str, Any] = error.model_dump()
    return ScimResponse(body, status_code=problem.status, headers=problem.headers)


async def _on_problem(_request: Request, problem: Exception) -> ScimResponse:
    assert isinstance(problem, ScimProblem)
    return scim_error_response(problem)


async def _on_http_error(_request: Request, error: Exception) -> ScimResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else "Request failed."
    return scim_error_response(ScimProblem(error.status_code, detail, headers=dict(error.headers or {})))


async def _on_validation_error(_request: Request, error: Exception) -> ScimResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()))
    detail = f"Invalid request parameter {where}: {first.get('msg', 'invalid value')}."
    return scim_error_response(ScimProblem(400, detail, "invalidValue"))


def install_scim_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ScimProblem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
