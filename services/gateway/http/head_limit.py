"""The request head (request line and header fields) a client may send the gateway: 128 KiB.

uvicorn's httptools protocol keeps every header field it is sent, unbounded: one field of 16 MB, or
100,000 fields, held that much of the gateway's memory per connection and were answered 200. Past the
bound the answer is 431 (RFC 6585 §5), in plain text as the HTTP server's own refusals are
(docs/errors.md), and the connection is closed. Written by hand: uvicorn bounds a head only in its h11
protocol (``h11_max_incomplete_event_size``), which parses every request in Python. The request line
alone is bounded below this already (httptools refuses a URL over 64 KiB: 400).

What counts is each read fed to the parser while one request's head is still incomplete after it, and
began before it: a read that completes a head, or starts one, carries body bytes or another request's
bytes too, and is never counted. So the memory a head holds is bounded by the limit plus two reads.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_HEAD_BYTES = 128 * 1024
_REFUSAL = b"Request header fields too large."
_LINGER_SECONDS = 2.0


class BoundedHeadProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = False  # between a request's first byte and the end of its header fields
        self._began_in_this_read = False
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # what the client still sends after the refusal, read and dropped
        head_before = self._in_head
        self._began_in_this_read = False
        super().data_received(data)
        if self._in_head and head_before and not self._began_in_this_read:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes, self._in_head, self._began_in_this_read = 0, True, True

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def _refuse_head(self) -> None:
        """The answer, then end of stream; the connection is closed a moment later. Closed at once
        while the client still sends, it would be reset, and the reset can discard the answer
        before the client reads it. While an earlier request on the connection is still being
        answered, only the close: the refusal would come before that answer."""
        self.logger.warning("Request head over %d bytes refused.", MAX_HEAD_BYTES)
        self._refused = True
        if self.pipeline or (self.cycle is not None and not self.cycle.response_complete):
            self.transport.close()
            return
        answer = [STATUS_LINE[431]]
        for name, value in self.server_state.default_headers:
            answer += [name, b": ", value, b"\r\n"]
        answer += [b"content-type: text/plain; charset=utf-8\r\n", b"content-length: %d\r\n" % len(_REFUSAL)]
        self.transport.write(b"".join([*answer, b"connection: close\r\n\r\n", _REFUSAL]))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
