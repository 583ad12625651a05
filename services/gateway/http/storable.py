"""Text the services' databases cannot store, refused at the edge before anything is sent to a service.

PostgreSQL refuses U+0000 in every ``text`` and ``jsonb`` value (its strings are NUL-terminated), so a
NUL character a client puts anywhere would reach a service, fail its transaction on every delivery and be
dead-lettered. Lone surrogates never get this far: Starlette decodes paths with
replacement characters, a query string that is not UTF-8 is refused (below), and orjson refuses them
in bodies (body.py).

* a path holding a NUL names no resource: 404 (no id Roster mints has one, contracts/ids.py);
* a query parameter holding one: 400 invalidValue naming the parameter (as is one that is not UTF-8);
* any string or key of a JSON body holding one: 400 invalidValue naming the attribute (``decode_json``).

A SCIM or admin path with a trailing slash is a 404 too: Starlette would answer 307 to the path without
it, an ``http://`` URL behind a TLS proxy, and an API client must not be sent elsewhere (the console's
pages keep the redirect).

Headers need nothing: the HTTP parser refuses a NUL in a field value (RFC 9110 §5.5), and the ones read
(If-Match, If-None-Match) become version numbers, never text a service stores.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from scim2_models import InvalidFilterException, InvalidValueException, SCIMException
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.http.errors import error_response, error_with_status
from services.gateway.http.responses import SCIM_PREFIX

NUL = "\x00"
_API_PREFIXES = (f"{SCIM_PREFIX}/", "/admin/v1/")


def _cannot_store(where: str) -> InvalidValueException:
    return InvalidValueException(
        detail=f"{where} contains a NUL character (U+0000), which Roster cannot store; remove it and retry."
    )


def _shown(name: str) -> str:
    return name.replace(NUL, "\\u0000")


def refuse_nul_in_body(body: Any) -> None:
    """400 invalidValue naming the first attribute (dotted, as SCIM paths are) whose value or name holds
    a NUL character."""
    pending: list[tuple[tuple[str, ...], Any]] = [((), body)]
    while pending:
        at, value = pending.pop()
        if isinstance(value, str) and NUL in value:
            raise _cannot_store(f'The attribute "{".".join(at)}"' if at else "The request body")
        if isinstance(value, dict):
            for name, child in value.items():
                if NUL in name:
                    raise _cannot_store(f'The attribute name "{_shown(".".join((*at, name)))}"')
                pending.append(((*at, name), child))
        elif isinstance(value, list):
            pending.extend((at, child) for child in value)


def _refusal(scope: Scope) -> SCIMException | None:
    path: str = scope["path"]
    if NUL in path or (path.endswith("/") and path.startswith(_API_PREFIXES)):
        return error_with_status(404, "Not Found")
    return _query_refusal(bytes(scope.get("query_string", b"")))


def _query_refusal(query: bytes) -> SCIMException | None:
    """Starlette reads percent-encoded bytes that are not UTF-8 as U+FFFD: a filter would then compare
    text the client never sent, and could match a user whose name holds that very character. A query
    must be percent-encoded UTF-8 (RFC 3986 §2.5); one byte beyond ASCII sent as it is never gets here
    (the HTTP server refuses the request line)."""
    for raw_name, raw_value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1"):
        name, value = _utf8(raw_name), _utf8(raw_value)
        shown = _shown(raw_name.encode("latin-1").decode(errors="replace"))
        if name is None or value is None:
            return _not_utf8(shown)
        if NUL in name or NUL in value:
            return _cannot_store(f'The query parameter "{shown}"')
    return None


def _utf8(percent_decoded: str) -> str | None:
    """The text of a name or value whose bytes ``parse_qsl`` kept as Latin-1; None when not UTF-8."""
    try:
        return percent_decoded.encode("latin-1").decode()
    except UnicodeDecodeError:
        return None


def _not_utf8(name: str) -> SCIMException:
    detail = f'The query parameter "{name}" is not UTF-8 text once percent-decoded (RFC 3986 §2.5).'
    if name.lower() == "filter":  # a filter Roster cannot read, as elsewhere
        return InvalidFilterException(detail=detail)
    return InvalidValueException(detail=detail)


class EdgeRefusals:
    """Pure ASGI middleware: paths and query strings, for every route (SCIM, admin, console, health)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = _refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self._app(scope, receive, send)
            return
        await error_response(refusal)(scope, receive, send)
