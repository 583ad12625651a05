"""Roster's events reference at a stable URL: the AsyncAPI 3 document of every topic, key, message and
payload (docs/events.md), built from ``contracts/`` like the committed ``docs/asyncapi.json``, so a
running gateway always describes the messages of its own release."""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter
from fastapi.responses import Response

from contracts import asyncapi

router = APIRouter()


@lru_cache(maxsize=1)
def _rendered() -> str:
    return asyncapi.render()


@router.get("/asyncapi.json", include_in_schema=False)
def asyncapi_document() -> Response:
    # Public like /openapi.json: it describes message shapes, never data.
    return Response(_rendered(), media_type="application/json")
