import pytest
from pydantic import ValidationError

from contracts import topics
from contracts.envelope import Envelope, wrap, wrap_descendant
from contracts.registry import MESSAGE_TYPES, UnknownMessageType, payload_of
from contracts.rejections import SCIM_ERROR_FOR, RejectionReason
from contracts.snapshot import SNAPSHOT_PATH, render
from contracts.users import CreateUser, UserProfile


def test_committed_schema_snapshot_matches_the_code() -> None:
    assert SNAPSHOT_PATH.read_text() == render(), (
        "A message contract changed. If intended, run `python -m contracts.snapshot --write`"
        " and bump schema_version for breaking changes."
    )


def test_envelope_round_trips_through_bytes_and_payload_registry() -> None:
    command = CreateUser(user_id="u1", profile=UserProfile(user_name="ann@example.com"))
    envelope = wrap(command, tenant="acme", producer="test", reply_to="r")
    decoded = Envelope.from_bytes(envelope.to_bytes())
    assert decoded == envelope
    assert payload_of(decoded) == command


def test_descendant_keeps_correlation_and_points_at_its_cause() -> None:
    cause = wrap(CreateUser(user_id="u1", profile=UserProfile(user_name="a")), tenant="t", producer="p")
    child = wrap_descendant(cause_payload := payload_of(cause), cause=cause, producer="users")
    assert child.correlation_id == cause.correlation_id
    assert child.causation_id == cause.message_id
    assert child.tenant == "t"
    assert payload_of(child) == cause_payload


def test_tolerant_reader_ignores_unknown_fields() -> None:
    envelope = wrap(CreateUser(user_id="u", profile=UserProfile(user_name="a")), tenant="t", producer="p")
    data = envelope.model_dump(mode="json")
    data["added_in_a_later_minor_version"] = 1
    data["payload"]["also_new"] = True
    decoded = Envelope.model_validate(data)
    assert payload_of(decoded) == payload_of(envelope)


def test_unknown_type_and_invalid_payload_are_refused() -> None:
    base = wrap(CreateUser(user_id="u", profile=UserProfile(user_name="a")), tenant="t", producer="p")
    with pytest.raises(UnknownMessageType):
        payload_of(base.model_copy(update={"type": "NoSuchThing"}))
    with pytest.raises(ValidationError):
        payload_of(base.model_copy(update={"payload": {"user_id": "u"}}))
    with pytest.raises(ValidationError):
        Envelope.from_bytes(b"not json")


def test_every_rejection_reason_maps_to_a_scim_error() -> None:
    assert set(SCIM_ERROR_FOR) == set(RejectionReason)
    assert SCIM_ERROR_FOR[RejectionReason.USER_NAME_TAKEN] == (409, "uniqueness")


def test_topic_names_and_keys() -> None:
    assert topics.dead_letter_topic(topics.USERS_COMMANDS) == "users.commands.v1.dlq"
    assert topics.resource_key("acme", "42") == b"acme:42"
    assert topics.gateway_reply_topic("abc").startswith("gateway.replies.v1.")
    assert all(name == cls.__name__ for name, cls in MESSAGE_TYPES.items())
