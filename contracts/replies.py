"""Replies shared by every service."""

from __future__ import annotations

from contracts.envelope import Message
from contracts.rejections import RejectionReason


class Deleted(Message):
    """The resource is gone (and its id will never be used again)."""

    resource_id: str


class CommandRejected(Message):
    """A command or query was refused; ``detail`` is shown to the IdP admin as it stands."""

    reason: RejectionReason
    detail: str
