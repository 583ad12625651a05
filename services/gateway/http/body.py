"""Reading request bodies, for every route (SCIM and admin): the media type (415), the size cap (413) and
JSON within limits (400 invalidSyntax), RFC 7644 §3.12.

orjson decodes, because it refuses in C what the standard library turns into a 500: nesting deeper than
1,024 levels (``json`` recurses in Python until ``RecursionError``), numbers beyond a double (``json``
converts thousands of digits to an ``int`` until ``ValueError``), NaN/Infinity, lone surrogates and bytes
that are not UTF-8. No SCIM or admin body nests deeper than a few levels, so ``MAX_DEPTH`` is refused
before any model walks the value. A NUL character anywhere is refused too (storable.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import Request
from fastapi.routing import APIRoute
from scim2_models import InvalidSyntaxException, PayloadTooLargeException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from services.gateway.http.errors import BodyTimedOut, UnsupportedContentCoding, error_with_status
from services.gateway.http.storable import refuse_nul_in_body

MAX_DEPTH = 32
JSON_MEDIA_TYPES = ("application/scim+json", "application/json")
_UTF8_BOM = b"\xef\xbb\xbf"


async def read_json(request: Request, *, limit: int) -> Any:
    """The body as JSON, at most ``limit`` bytes. A request without a Content-Type is read as JSON: the
    RFC asks for one, and tolerating its absence refuses nothing an identity provider sends."""
    require_json_body(request)
    return decode_json(await _read_at_most(request, limit))


async def read_form_body(request: Request) -> None:
    """A form's body read under the limits every body meets (size, time, a client hanging up) and kept
    on the request (``_body``, as FastAPI's custom-request recipe sets it), where Starlette's
    ``request.form()`` then parses it from."""
    if not hasattr(request, "_body"):
        request._body = await _read_at_most(request, request.app.state.settings.max_body_bytes)


def require_json_body(request: Request) -> None:
    """What the headers say of the body: JSON in UTF-8, not compressed."""
    require_json_media_type(request.headers.get("content-type"))
    require_no_content_coding(", ".join(request.headers.getlist("content-encoding")))


def require_no_content_coding(content_encoding: str) -> None:
    """415 for a compressed body (RFC 9110 §8.4, §15.5.16: a coding the server does not support),
    rather than reading gzip's bytes as text or a body that only claims a coding as plain JSON. Every
    ``Content-Encoding`` header counts, joined as one list (RFC 9110 §5.3)."""
    codings = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
    if any(coding != "identity" for coding in codings):
        raise UnsupportedContentCoding(
            detail=f"Unsupported Content-Encoding {content_encoding[:100]!r}: send the body uncompressed."
        )


async def _read_at_most(request: Request, limit: int) -> bytes:
    """The body, at most ``limit`` bytes, within ``GATEWAY_BODY_TIMEOUT_SECONDS``: the HTTP server
    waits for a body as long as its client keeps the connection open, one that sends less than its
    ``Content-Length`` included. A client that closes the connection before the end is a client's
    error (400), not a server's (500)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise _too_large(limit)
    seconds: float = request.app.state.settings.body_timeout_seconds
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise BodyTimedOut(detail=f"The request body did not arrive in full within {seconds:g} s.") from None
    except ClientDisconnect:
        raise InvalidSyntaxException(
            detail="The client closed the connection before its request body arrived in full."
        ) from None
    return b"".join(chunks)


def require_json_media_type(content_type: str | None) -> None:
    """415 unless ``application/scim+json`` or ``application/json`` (RFC 7644 §3.1), in UTF-8."""
    if content_type is None:
        return
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charsets = [
        value.strip('"') for name, _, value in (p.partition("=") for p in parameters) if name == "charset"
    ]
    if media_type not in JSON_MEDIA_TYPES or any(charset not in ("utf-8", "utf8") for charset in charsets):
        raise error_with_status(
            415,
            f"Unsupported Content-Type {content_type[:100]!r}: send application/scim+json (or"
            " application/json) in UTF-8.",
        )


def decode_json(raw: bytes) -> Any:
    # RFC 8259 §8.1: a parser may ignore a byte order mark; some Windows clients write one.
    raw = raw.removeprefix(_UTF8_BOM)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSyntaxException(detail="The request body is not UTF-8 (RFC 8259 §8.1).") from None
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise InvalidSyntaxException(detail=f"The request body is not valid JSON: {error}.") from None
    if _deeper_than(body, MAX_DEPTH):
        raise InvalidSyntaxException(detail=f"The request body nests deeper than {MAX_DEPTH} levels.")
    # RFC 8259 §7: JSON can only hold a NUL escaped (orjson refuses a raw one), so a body without the
    # escape needs no walk; walking a 4 MiB group body costs the event loop over a second.
    if "\\u0000" in text:
        refuse_nul_in_body(body)
    return body


def _deeper_than(value: Any, limit: int) -> bool:
    level, depth = [value], 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
    return False


def _too_large(limit: int) -> PayloadTooLargeException:
    return PayloadTooLargeException(detail=f"The request body exceeds the maximum of {limit} bytes.")


class _DecodedRequest(Request):
    """A request whose body was already read (and decoded) under the limits."""

    def __init__(self, request: Request, raw: bytes, body: Any) -> None:
        super().__init__(request.scope, request.receive)
        self._body = raw  # Starlette's cache of the body, as FastAPI's "Custom Request" recipe sets it
        self._decoded = body

    async def json(self) -> Any:
        return self._decoded


class JsonBodyRoute(APIRoute):
    """A route whose JSON body FastAPI validates against a model (the admin API): the body is read here
    first, so it meets the same limits and errors as a SCIM body. FastAPI's own reading answers a body it
    cannot decode with a bare 400, and passes a non-JSON media type on as bytes."""

    def get_route_handler(self) -> Any:
        handle = super().get_route_handler()
        if self.body_field is None:
            return handle

        async def handle_json(request: Request) -> Response:
            require_json_body(request)
            raw = await _read_at_most(request, request.app.state.settings.max_body_bytes)
            response: Response = await handle(_DecodedRequest(request, raw, decode_json(raw)))
            return response

        return handle_json
