"""The console's sessions: a signed, time-limited cookie (itsdangerous), no server-side store.

Every visitor holds a session, signed in or not, so the sign-in form is protected against CSRF like every
other form: its token is derived from the session id (an HMAC), and a successful sign-in starts a new
session (a session id planted before sign-in is worth nothing after it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from services.gateway.config import GatewaySettings

COOKIE = "roster_console"
COOKIE_PATH = "/console"


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str
    signed_in: bool
    csrf_token: str


class Sessions:
    """Issues and reads session cookies. Sign-out also remembers the session id until it would have
    expired, so this instance refuses a copy of the cookie kept after signing out."""

    def __init__(self, *, key: bytes, max_age_seconds: int) -> None:
        self._key = key
        self._serializer = URLSafeTimedSerializer(key, salt="roster-console-session")
        self.max_age_seconds = max_age_seconds
        self._signed_out: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> Sessions:
        """The key depends on the admin token too: changing the admin token ends every session."""
        configured = settings.console_session_key
        secret = configured.get_secret_value().encode() if configured else secrets.token_bytes(32)
        key = hmac.new(secret, settings.admin_token.get_secret_value().encode(), hashlib.sha256).digest()
        return cls(key=key, max_age_seconds=settings.console_session_minutes * 60)

    def start(self, *, signed_in: bool) -> tuple[ConsoleSession, str]:
        """A new session and its cookie value."""
        session_id = secrets.token_urlsafe(24)
        cookie = self._serializer.dumps({"sid": session_id, "in": signed_in})
        return self._session(session_id, signed_in), cookie

    def read(self, cookie: str | None) -> ConsoleSession | None:
        """The session of a cookie that is genuine, unexpired and not signed out; else None."""
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_seconds)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        if data["sid"] in self._signed_out:
            return None
        return self._session(data["sid"], data.get("in") is True)

    def sign_out(self, session: ConsoleSession) -> None:
        now = time.monotonic()
        self._signed_out = {sid: until for sid, until in self._signed_out.items() if until > now}
        self._signed_out[session.session_id] = now + self.max_age_seconds

    def csrf_valid(self, session: ConsoleSession, presented: str | None) -> bool:
        return hmac.compare_digest(session.csrf_token.encode(), (presented or "").encode())

    def _session(self, session_id: str, signed_in: bool) -> ConsoleSession:
        csrf = hmac.new(self._key, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()
        return ConsoleSession(session_id=session_id, signed_in=signed_in, csrf_token=csrf)
