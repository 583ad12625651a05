"""The committed events reference (docs/asyncapi.json) is the one the contracts generate, and it holds
together: valid against the official AsyncAPI 3.0.0 JSON Schema (``asyncapi_spec/``), every reference
resolves, every message travels somewhere, every event's example is accepted by both its published schema
and its contract, and what the document says each service consumes is what the service is wired to
consume."""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator

from contracts import activity, asyncapi, replies, seats, teams, topics, users
from contracts.channels import CHANNELS, DURABLE_CHANNELS, Kind, Process
from contracts.envelope import Envelope, Message
from contracts.examples import event_examples
from contracts.flows import FLOWS, Action
from contracts.privacy import PersonalData, personal_data
from contracts.registry import ALL_MESSAGES, payload_of
from servicekit.kafka import MAX_MESSAGE_BYTES
from servicekit.settings import ServiceSettings
from services.activity.app import DEFINITION as ACTIVITY
from services.seats.app import DEFINITION as SEATS
from services.teams.app import DEFINITION as TEAMS
from services.users.app import DEFINITION as USERS

DOCUMENT = asyncapi.document()
ASYNCAPI_3 = Draft7Validator(
    json.loads((Path(__file__).parent / "asyncapi_spec" / "asyncapi-3.0.0.schema.json").read_text())
)
# Keywords of JSON Schema draft 07, which AsyncAPI 3's default schema format extends.
DRAFT_07_KEYWORDS = frozenset(
    {
        *("$ref", "$id", "$schema", "$comment", "title", "description", "default", "examples"),
        *("readOnly", "writeOnly", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum"),
        *("minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "format", "items"),
        *("additionalItems", "maxItems", "minItems", "uniqueItems", "contains", "maxProperties"),
        *("minProperties", "required", "properties", "patternProperties", "additionalProperties"),
        *("dependencies", "propertyNames", "if", "then", "else", "allOf", "anyOf", "oneOf", "not"),
    }
)


def test_committed_document_matches_the_contracts() -> None:
    assert asyncapi.DOCUMENT_PATH.read_text() == asyncapi.render(), (
        "The events reference is out of date: run `python -m contracts.asyncapi --write` and review the diff."
    )


def test_the_document_is_valid_asyncapi_3() -> None:
    ASYNCAPI_3.validate(DOCUMENT)
    for channel in DOCUMENT["channels"].values():
        for parameter in _placeholders(channel["address"]):
            assert parameter in channel["parameters"]


def test_the_validator_refuses_what_asyncapi_3_forbids() -> None:
    broken = copy.deepcopy(DOCUMENT)
    del broken["info"]["version"]
    broken["operations"]["usersSendUsersEvents"]["action"] = "publish"  # AsyncAPI 2's word
    failures = {tuple(error.absolute_path)[:2] for error in ASYNCAPI_3.iter_errors(broken)}
    assert failures == {("info",), ("operations", "usersSendUsersEvents")}


def _placeholders(address: str) -> list[str]:
    return [part.split("}")[0] for part in address.split("{")[1:]]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolve(pointer: str) -> Any:
    assert pointer.startswith("#/"), f"{pointer} is not a local reference"
    node: Any = DOCUMENT
    for part in pointer[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{pointer} does not resolve"
        node = node[part]
    return node


def test_every_reference_resolves() -> None:
    pointers = set(_refs(DOCUMENT))
    assert len(pointers) > 100
    for pointer in pointers:
        _resolve(pointer)


def test_operations_name_only_messages_of_their_channel() -> None:
    """AsyncAPI 3: an operation's messages (and its reply's) are a subset of its channel's."""
    for name, operation in DOCUMENT["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        for owner in (operation, operation.get("reply")):
            if owner is None:
                continue
            channel = owner["channel"]["$ref"]
            assert owner["messages"], name
            for message in owner["messages"]:
                assert message["$ref"].startswith(f"{channel}/messages/"), (name, message)


def test_every_message_travels_on_exactly_one_topic() -> None:
    carried = [message for channel in CHANNELS for message in channel.messages]
    assert len(set(carried)) == len(carried)
    defined = {
        member
        for module in (users, teams, seats, activity, replies)
        for _, member in inspect.getmembers(module, inspect.isclass)
        if issubclass(member, Message) and member.__module__ == module.__name__
    }
    assert set(carried) == defined == set(ALL_MESSAGES)
    components = DOCUMENT["components"]["messages"]
    for channel in DOCUMENT["channels"].values():
        for name, reference in channel["messages"].items():
            assert reference == {"$ref": f"#/components/messages/{name}"}
            assert components[name]["name"] == name


def test_every_topic_and_its_dead_letter_topic_is_described() -> None:
    addresses = {channel["address"] for channel in DOCUMENT["channels"].values()}
    owned = {
        topics.USERS_COMMANDS,
        topics.USERS_QUERIES,
        topics.USERS_EVENTS,
        topics.TEAMS_COMMANDS,
        topics.TEAMS_QUERIES,
        topics.TEAMS_EVENTS,
        topics.SEATS_COMMANDS,
        topics.SEATS_QUERIES,
        topics.SEATS_EVENTS,
        topics.GATEWAY_OUTCOMES,
        topics.ACTIVITY_QUERIES,
    }
    replies = topics.gateway_reply_topic("{instance}")
    assert addresses == owned | {topics.dead_letter_topic(t) for t in owned} | {replies}
    assert {channel.address for channel in DURABLE_CHANNELS} == owned


def _events() -> list[str]:
    return [m.type_name() for channel in CHANNELS if channel.kind is Kind.EVENTS for m in channel.messages]


@pytest.mark.parametrize("name", _events())
def test_every_event_has_an_example_its_schema_and_its_contract_accept(name: str) -> None:
    message = DOCUMENT["components"]["messages"][name]
    [example] = message["examples"]
    # The published schema, resolved inside the document as any AsyncAPI tool resolves it.
    schema = {**DOCUMENT, "$ref": f"#/components/messages/{name}/payload"}
    Draft7Validator(schema).validate(example["payload"])
    envelope = Envelope.model_validate(example["payload"])
    assert envelope.type == name
    assert payload_of(envelope).type_name() == name
    key, published = event_examples()[name]
    assert published == envelope
    assert example["summary"] == f"Record key: {key.decode()}"
    Draft7Validator(message["bindings"]["kafka"]["key"]).validate(key.decode())


def test_payload_schemas_are_json_schema_draft_07() -> None:
    for name, schema in DOCUMENT["components"]["schemas"].items():
        Draft7Validator.check_schema(schema)
        assert _keywords(schema) <= DRAFT_07_KEYWORDS, name


def _keywords(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return set().union(*map(_keywords, schema)) if schema else set()
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for keyword, value in schema.items():
        if keyword in ("properties", "patternProperties"):
            found |= set().union(*map(_keywords, value.values())) if value else set()
        elif keyword not in ("default", "examples", "enum", "const", "required"):
            found |= _keywords(value)
    return found


@pytest.mark.parametrize(
    "process, definition",
    [(Process.USERS, USERS), (Process.TEAMS, TEAMS), (Process.SEATS, SEATS), (Process.ACTIVITY, ACTIVITY)],
)
def test_what_each_service_receives_is_what_it_is_wired_to_consume(process: Process, definition: Any) -> None:
    wired = {**definition.subscriptions, **definition.queries, **definition.listens}
    consumed = {topic: {m.type_name() for m in handlers} for topic, handlers in wired.items()}
    documented = {
        flow.channel.address: {m.type_name() for m in flow.messages}
        for flow in FLOWS
        if flow.process is process and flow.action is Action.RECEIVE
    }
    assert documented == consumed


def test_topic_settings_are_the_defaults_services_create_topics_with() -> None:
    fields = ServiceSettings.model_fields
    assert fields["topic_partitions"].default == asyncapi.DEFAULT_PARTITIONS
    assert fields["topic_replication_factor"].default == asyncapi.DEFAULT_REPLICAS
    assert fields["topic_retention_hours"].default == asyncapi.DEFAULT_RETENTION_HOURS
    assert asyncapi.MAX_MESSAGE_BYTES == MAX_MESSAGE_BYTES


def _reachable(schema: Any, seen: frozenset[str] = frozenset()) -> set[str]:
    """The component schemas a schema refers to, directly or through others."""
    names = {pointer.rsplit("/", 1)[-1] for pointer in _refs(schema)} - seen
    found = set(names)
    for name in names:
        found |= _reachable(DOCUMENT["components"]["schemas"][name], seen | names)
    return found


IDENTIFYING_FIELDS = {"user_id", "user_ids", "member_ids", "manager_id", "chosen_id", "added", "removed"}


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=lambda m: m.type_name())
def test_messages_holding_profiles_or_user_ids_say_so(message: Any) -> None:
    name = message.type_name()
    schema = DOCUMENT["components"]["schemas"][name]
    declared = personal_data(message)
    assert DOCUMENT["components"]["messages"][name]["x-personal-data"] == declared.value
    if _reachable(schema) & {"UserProfile", "TeamMember"}:
        assert declared is PersonalData.PROFILE
    if IDENTIFYING_FIELDS & set(schema.get("properties", {})) or "MembershipChange" in _reachable(schema):
        assert declared is not PersonalData.NONE
