"""The AsyncAPI message components (``contracts/asyncapi.py``): one per contract message, each an envelope
around its payload schema, with its record key, personal-data class and (events) an example."""

from __future__ import annotations

import inspect
from typing import Any

from contracts.channels import Channel, KeyFormat
from contracts.envelope import Envelope, Message
from contracts.privacy import personal_data, why_personal

KAFKA_BINDING_VERSION = "0.5.0"
DEAD_LETTER = "DeadLetter"
CORRELATION_ID = {
    "location": "$message.payload#/correlation_id",
    "description": "One per SCIM or admin request, copied to every message it causes.",
}


def ref(*path: str) -> dict[str, str]:
    return {"$ref": "#/" + "/".join(path)}


def _own_doc(message: type[Message]) -> str | None:
    """The class's own docstring (``inspect.getdoc`` would inherit ``Message``'s)."""
    return inspect.cleandoc(message.__doc__) if "__doc__" in vars(message) and message.__doc__ else None


_ONE_OF = {"commands": "A command", "queries": "A query", "events": "An event", "replies": "A reply"}


def _key_schema(keys: tuple[KeyFormat, ...]) -> dict[str, Any]:
    options = [
        {"type": "string", "pattern": key.pattern, "description": f"{key.template}: orders {key.orders}."}
        for key in keys
    ]
    return options[0] if len(options) == 1 else {"anyOf": options}


def message_component(
    message: type[Message], channel: Channel, example: tuple[bytes, Envelope] | None
) -> dict[str, Any]:
    name = message.type_name()
    kind = channel.kind.value
    component: dict[str, Any] = {
        "name": name,
        "title": name,
        "summary": f"{_ONE_OF[kind]} on {channel.address}.",
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {"content-type": {"const": "application/json"}, "message-type": {"const": name}},
        },
        "payload": {
            "allOf": [
                ref("components", "schemas", "Envelope"),
                {
                    "type": "object",
                    "required": ["type", "payload"],
                    "properties": {
                        "type": {"const": name},
                        "schema_version": {"const": message.schema_version},
                        "payload": ref("components", "schemas", name),
                    },
                },
            ]
        },
        "correlationId": CORRELATION_ID,
        "tags": [{"name": kind}],
        "bindings": {
            "kafka": {"key": _key_schema(channel.messages[message]), "bindingVersion": KAFKA_BINDING_VERSION}
        },
        "x-personal-data": personal_data(message).value,
    }
    if (doc := _own_doc(message)) is not None:
        component["description"] = doc
    if (why := why_personal(message)) is not None:
        component["x-personal-data-detail"] = why
    if example is not None:
        key, envelope = example
        component["examples"] = [
            {
                "name": name,
                "headers": {"content-type": "application/json", "message-type": name},
                "summary": f"Record key: {key.decode()}",
                "payload": envelope.model_dump(mode="json"),
            }
        ]
    return component


def dead_letter_component() -> dict[str, Any]:
    text = {"type": "string"}
    return {
        "name": DEAD_LETTER,
        "title": DEAD_LETTER,
        "summary": "A record set aside so that its partition moves on.",
        "description": (
            "The original record's value, byte for byte, and its key: usually an envelope, possibly bytes"
            " that were not one. A record the broker refused as too large is replaced by the text"
            " `set aside: <size> bytes`, with the original headers and `x-original-topic`. Nothing consumes"
            " dead-letter topics: support inspects them."
        ),
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "required": ["x-error", "x-original-topic"],
            "properties": {
                "x-error": {**text, "description": "Why it was set aside (at most 2,000 characters)."},
                "x-original-topic": text,
                "x-original-partition": text,
                "x-original-offset": text,
            },
        },
        "payload": {"description": "The original record's value."},
        "tags": [{"name": "dead letters"}],
        "x-personal-data": "profile",
        "x-personal-data-detail": "a copy of any message of the original topic",
    }
