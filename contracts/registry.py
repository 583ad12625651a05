"""Every message type by name: the single place a consumer turns an envelope into a payload."""

from __future__ import annotations

from contracts.channels import CHANNELS
from contracts.envelope import Envelope, Message

ALL_MESSAGES: tuple[type[Message], ...] = tuple(
    message for channel in CHANNELS for message in channel.messages
)
"""Every message travels on one topic, so the topics' messages (``contracts/channels.py``) are all of them."""

MESSAGE_TYPES: dict[str, type[Message]] = {m.type_name(): m for m in ALL_MESSAGES}


class UnknownMessageType(ValueError):
    pass


def payload_of(envelope: Envelope) -> Message:
    """Validate the payload against its declared type; raises on unknown types or bad data."""
    message_type = MESSAGE_TYPES.get(envelope.type)
    if message_type is None:
        raise UnknownMessageType(f"unknown message type {envelope.type!r}")
    return message_type.model_validate(envelope.payload)
