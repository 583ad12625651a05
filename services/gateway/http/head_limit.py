"""The request head (request line and header fields) a client may send the gateway: 128 KiB.

uvicorn's httptools protocol keeps every header field it is sent, unbounded: one field of 16 MB, or
100,000 fields, held that much of the gateway's memory per connection and were answered 200. Past the
bound the answer is 431 (RFC 6585 §5), in plain text as the HTTP server's own refusals are
(docs/errors.md), and the connection is closed. Written by hand: uvicorn bounds a head only in its h11
protocol (``h11_max_incomplete_event_size``), which parses every request in Python. The request line
alone is bounded below this already (httptools refuses a URL over 64 KiB: 400).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 128 * 1024
_REFUSAL = b"Request header fields too large."
_LINGER_SECONDS = 2.0


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # received since the head began; counted while it is incomplete
        self._reading_head = True
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # what the client still sends after the refusal, read and dropped
        if self._reading_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_bytes, self._reading_head = 0, True

    def _refuse_head(self) -> None:
        """The answer, then end of stream; the connection is closed a moment later. Closed at once
        while the client still sends, it would be reset, and the reset can discard the answer
        before the client reads it."""
        self.logger.warning("Request head over %d bytes refused.", MAX_HEAD_BYTES)
        self._refused = True
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL)
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
