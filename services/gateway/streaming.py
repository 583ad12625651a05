"""Bodies written while their members are still being read: a team of any size is answered in bounded
memory, one page of members (``contracts.listing.IDS_PER_PAGE``) at a time.

The JSON is what ``JSONResponse`` would have written for the whole body (compact, UTF-8); only the
member list arrives in parts. The status and headers go out before the members are read, so a reply
that fails half-way ends the connection instead of answering an error (docs/operations.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

from fastapi.responses import StreamingResponse

Item = TypeVar("Item")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


async def chunks(
    pages: AsyncIterator[Sequence[Item]], render: Callable[[Sequence[Item]], list[Any]]
) -> AsyncIterator[str]:
    """Each page as the JSON text of its items, comma-separated (a part of an array)."""
    async for page in pages:
        yield ",".join(map(dumps, render(page)))


async def json_array(parts: AsyncIterator[str]) -> AsyncIterator[str]:
    """A JSON array of the items in ``parts`` (each the comma-separated text of some items)."""
    yield "["
    first = True
    async for part in parts:
        if part:
            yield part if first else f",{part}"
            first = False
    yield "]"


async def object_with(head: Mapping[str, Any], key: str, value: AsyncIterator[str]) -> AsyncIterator[str]:
    """``head`` as a JSON object with ``key`` added last, its value the JSON text ``value`` writes."""
    opening = dumps(head)[:-1]
    yield f"{opening}{',' if head else ''}{dumps(key)}:"
    async for part in value:
        yield part
    yield "}"


async def encoded(parts: AsyncIterator[str]) -> AsyncIterator[bytes]:
    async for part in parts:
        yield part.encode()


def streamed(
    parts: AsyncIterator[str], *, media_type: str, headers: Mapping[str, str] | None = None
) -> StreamingResponse:
    return StreamingResponse(encoded(parts), media_type=media_type, headers=dict(headers or {}))
