"""The events reference: an AsyncAPI 3.0 document generated from the contracts (``docs/asyncapi.json``).

FastStream can emit AsyncAPI for its subscribers, but Roster's subscribers take raw bytes (a record nobody
can parse must still reach the dead-letter logic), so FastStream sees neither the message types nor the
keys; the contracts do, and this module renders them. Regenerate deliberately with
``python -m contracts.asyncapi --write`` and review the diff; a test fails while the committed document
differs from the generated one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from contracts.asyncapi_messages import (
    DEAD_LETTER,
    KAFKA_BINDING_VERSION,
    dead_letter_component,
    message_component,
    ref,
)
from contracts.channels import CHANNELS, DURABLE_CHANNELS, GATEWAY_REPLIES, Channel, Process
from contracts.envelope import Envelope, Message
from contracts.examples import event_examples
from contracts.flows import FLOWS, Action, Flow
from contracts.registry import ALL_MESSAGES
from contracts.topics import dead_letter_topic

DOCUMENT_PATH = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.json"
ASYNCAPI_VERSION = "3.0.0"
# Topic creation defaults (servicekit: ServiceSettings, MAX_MESSAGE_BYTES); a test keeps them equal.
DEFAULT_PARTITIONS = 6
DEFAULT_REPLICAS = 1
DEFAULT_RETENTION_HOURS = 7 * 24
MAX_MESSAGE_BYTES = 8 * 1024 * 1024

_INFO = """\
Every Kafka topic Roster uses, the messages on it, their record keys, and who sends and receives them.
A guide for consumers is docs/events.md.

* **Value**: a JSON envelope (`Envelope`); its `payload` is the message named by `type`. Headers:
  `content-type: application/json`, `message-type: <type>`. Tolerant reader: ignore fields and
  message types you do not know. A breaking change bumps `schema_version` (topic names carry the
  major version: `….v1`).
* **Delivery**: at least once. A message may arrive twice (a redelivery, or a relay re-publishing after a
  crash) with the same `message_id`: deduplicate on it.
* **Order**: Kafka orders records within a partition, and a key always maps to one partition, so the
  messages with one key arrive in the order they were committed. Nothing is ordered across keys or
  across topics. Each message's `bindings.kafka.key` says its key.
* **Retention**: topics are created with `retention.ms` = `<SERVICE>_TOPIC_RETENTION_HOURS` (default
  {retention} h) and are not compacted; a consumer that starts later, or falls further behind, must
  seed its state from the SCIM API. Partitions and replicas: `<SERVICE>_TOPIC_PARTITIONS` (default
  {partitions}), `<SERVICE>_TOPIC_REPLICATION_FACTOR` (default {replicas}; 3 in production).
* **Dead letters**: a record a consumer fails to handle `<SERVICE>_MAX_DELIVERY_ATTEMPTS` times (or cannot
  decode) is copied to `<topic>.dlq`, and the partition moves on.
* **Personal data**: each message's `x-personal-data` is `profile` (names, userNames, emails, phone
  numbers, addresses…), `identifiers` (opaque Roster ids only) or `none`.
"""


_CHANNEL_TEXT = {
    "commands": "Commands to the {owner} service; it handles each message once (inbox table) and answers on"
    " the request's `reply_to` topic.",
    "queries": "Reads answered by the {owner} service from its own database, on the request's `reply_to`"
    " topic.",
    "events": "What the {owner} service announces once a change is committed (outbox table). Consume these.",
    "replies": "One topic per gateway instance (1 partition), read from its beginning without a consumer"
    " group and deleted when the instance stops. Replies are keyed by correlation id.",
}


def _kafka_topic(channel: Channel) -> dict[str, Any]:
    binding: dict[str, Any] = {
        "partitions": 1 if channel is GATEWAY_REPLIES else DEFAULT_PARTITIONS,
        "replicas": DEFAULT_REPLICAS,
        "topicConfiguration": {
            "retention.ms": DEFAULT_RETENTION_HOURS * 3_600_000,
            "max.message.bytes": MAX_MESSAGE_BYTES,
        },
        "bindingVersion": KAFKA_BINDING_VERSION,
    }
    if channel is not GATEWAY_REPLIES:
        binding = {"topic": channel.address, **binding}
    return {"kafka": binding}


def _channel(channel: Channel) -> dict[str, Any]:
    body: dict[str, Any] = {
        "address": channel.address,
        "title": channel.address,
        "description": _CHANNEL_TEXT[channel.kind.value].format(owner=channel.owner.value),
        "messages": {m.type_name(): ref("components", "messages", m.type_name()) for m in channel.messages},
        "bindings": _kafka_topic(channel),
    }
    if channel is GATEWAY_REPLIES:
        body["parameters"] = {
            "instance": {"description": "The gateway instance's id (GATEWAY_INSTANCE_ID, else random)."}
        }
    return body


def _dead_letter_channel(channel: Channel) -> dict[str, Any]:
    address = dead_letter_topic(channel.address)
    return {
        "address": address,
        "title": address,
        "description": f"Records of {channel.address} that could not be handled.",
        "messages": {DEAD_LETTER: ref("components", "messages", DEAD_LETTER)},
        "bindings": {"kafka": {**_kafka_topic(channel)["kafka"], "topic": address}},
    }


def _dead_letter_id(channel: Channel) -> str:
    return f"{channel.id}DeadLetters"


def _operation_id(process: Process, action: Action, channel_id: str) -> str:
    return f"{process.value}{action.value.capitalize()}{channel_id[0].upper()}{channel_id[1:]}"


def _operation(flow: Flow) -> dict[str, Any]:
    channel_id = flow.channel.id
    operation: dict[str, Any] = {
        "action": flow.action.value,
        "channel": ref("channels", channel_id),
        "summary": f"The {flow.process.value} process {flow.action.value}s these on {flow.channel.address}.",
        "messages": [ref("channels", channel_id, "messages", m.type_name()) for m in flow.messages],
        "tags": [{"name": flow.process.value}],
    }
    if flow.replies:
        replies = GATEWAY_REPLIES.id
        operation["reply"] = {
            "address": {"location": "$message.payload#/reply_to", "description": "The requester's topic."},
            "channel": ref("channels", replies),
            "messages": [ref("channels", replies, "messages", m.type_name()) for m in flow.replies],
        }
    return operation


def _operations() -> dict[str, Any]:
    operations = {
        _operation_id(flow.process, flow.action, flow.channel.id): _operation(flow) for flow in FLOWS
    }
    for flow in FLOWS:  # every consumer of a durable topic dead-letters what it cannot handle
        if flow.action is Action.RECEIVE and flow.channel in DURABLE_CHANNELS:
            channel_id = _dead_letter_id(flow.channel)
            operations[_operation_id(flow.process, Action.SEND, channel_id)] = {
                "action": "send",
                "channel": ref("channels", channel_id),
                "summary": f"The {flow.process.value} process sets aside records it cannot handle.",
                "messages": [ref("channels", channel_id, "messages", DEAD_LETTER)],
                "tags": [{"name": flow.process.value}],
            }
    return operations


def _schemas() -> dict[str, Any]:
    mode: JsonSchemaMode = "validation"  # as contracts/schema_snapshot.json
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Envelope, mode)]
    models += [(message, mode) for message in ALL_MESSAGES]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = top["$defs"]
    return schemas


def document() -> dict[str, Any]:
    examples = event_examples()
    messages = {
        message.type_name(): message_component(message, channel, examples.get(message.type_name()))
        for channel in CHANNELS
        for message in channel.messages
    }
    channels = {channel.id: _channel(channel) for channel in CHANNELS}
    channels |= {_dead_letter_id(channel): _dead_letter_channel(channel) for channel in DURABLE_CHANNELS}
    info = _INFO.format(
        retention=DEFAULT_RETENTION_HOURS, partitions=DEFAULT_PARTITIONS, replicas=DEFAULT_REPLICAS
    )
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {"title": "Roster messages", "version": f"{Message.schema_version}.0.0", "description": info},
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "`make run`'s broker (this port unless taken), else KAFKA_BOOTSTRAP_SERVERS.",
            }
        },
        "channels": channels,
        "operations": _operations(),
        "components": {
            "schemas": _schemas(),
            "messages": messages | {DEAD_LETTER: dead_letter_component()},
        },
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOCUMENT_PATH.name}")
    args = parser.parse_args()
    if args.write:
        DOCUMENT_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOCUMENT_PATH.write_text(render())
        print(f"wrote {DOCUMENT_PATH}")
    else:
        print(render(), end="")


if __name__ == "__main__":
    main()
