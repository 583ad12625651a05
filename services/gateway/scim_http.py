"""What every SCIM route does with the owners' answers: the base URL it renders links with, and a reply
turned into the expected message or the SCIM error it stands for (RFC 7644 §3.12)."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request

from contracts.envelope import Message
from contracts.replies import CommandRejected
from services.gateway.errors import ScimProblem, problem_for_rejection

SCIM_PREFIX = "/scim/v2"

Expected = TypeVar("Expected", bound=Message)


def expect(reply: Message, expected: type[Expected]) -> Expected:
    if isinstance(reply, CommandRejected):
        raise problem_for_rejection(reply)
    if not isinstance(reply, expected):
        raise ScimProblem(500, f"Unexpected reply {reply.type_name()}; please retry.")
    return reply


def base_url(request: Request) -> str:
    return f"{str(request.base_url).rstrip('/')}{SCIM_PREFIX}"
