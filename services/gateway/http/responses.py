"""SCIM responses (RFC 7644 §3): the media type, the base URL links are rendered with, and a resource with
its ``ETag`` (and ``Location`` when created)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from services.gateway.http.etags import Versioned, etag

SCIM_PREFIX = "/scim/v2"
SCIM_MEDIA_TYPE = "application/scim+json"


class ScimResponse(JSONResponse):
    media_type = SCIM_MEDIA_TYPE


def base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{SCIM_PREFIX}"


def resource_response(
    body: dict[str, Any], record: Versioned, *, created_at: str | None = None
) -> ScimResponse:
    """200 with the resource, or 201 with ``Location`` = ``created_at`` (RFC 7644 §3.3); ``ETag`` always."""
    headers = {"ETag": etag(record)}
    if created_at is not None:
        headers["Location"] = created_at
    return ScimResponse(body, status_code=201 if created_at else 200, headers=headers)


def not_modified(record: Versioned) -> Response:
    """304 for an If-None-Match naming the current version (RFC 7232 §4.1)."""
    return Response(status_code=304, headers={"ETag": etag(record)})


def no_content(record: Versioned) -> Response:
    """204 with the record's ``ETag``: a change answered without the resource (RFC 7644 §3.5.2)."""
    return Response(status_code=204, headers={"ETag": etag(record)})
