"""Reading request bodies: size cap (413) and JSON syntax (400 invalidSyntax), RFC 7644 §3.12."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from scim2_models import InvalidSyntaxException, PayloadTooLargeException


async def read_json(request: Request, *, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
        # JSON may escape a lone surrogate ("\ud800"), which no UTF-8 message can carry on.
        json.dumps(body, ensure_ascii=False).encode()
    except (json.JSONDecodeError, UnicodeError) as error:
        raise InvalidSyntaxException(detail=f"The request body is not valid JSON: {error}.") from None
    return body


def _too_large(limit: int) -> PayloadTooLargeException:
    return PayloadTooLargeException(detail=f"The request body exceeds the maximum of {limit} bytes.")
