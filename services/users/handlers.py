"""Users handlers: load → ask the domain → save, and say what to send. Never publish here."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from contracts.envelope import Envelope, Message, wrap_descendant
from contracts.replies import Deleted
from contracts.topics import USERS_EVENTS, resource_key
from contracts.users import (
    CreateUser,
    DeleteUser,
    GetUser,
    ListUsers,
    ReplaceUser,
    UserCreated,
    UserPage,
    UserRecord,
    UserReply,
)
from servicekit.handling import HandlerMap, Outgoing, reply_to
from services.users import domain, filters, store

PRODUCER = "users"


def _event(cause: Envelope, user_id: str, message: Message) -> Outgoing:
    envelope = wrap_descendant(message, cause=cause, producer=PRODUCER)
    return Outgoing(topic=USERS_EVENTS, key=resource_key(cause.tenant, user_id), envelope=envelope)


def create_user(session: Session, envelope: Envelope, command: CreateUser) -> list[Outgoing]:
    tenant = envelope.tenant
    domain.ensure_id_never_used(command.user_id, used=store.id_ever_used(session, user_id=command.user_id))
    holder = store.user_id_holding_name(session, tenant=tenant, user_name=command.profile.user_name)
    domain.ensure_user_name_free(command.profile.user_name, holder_id=holder, user_id=command.user_id)
    user = domain.new_user(user_id=command.user_id, profile=command.profile, now=datetime.now(UTC))
    store.add_user(session, tenant=tenant, user=user)
    return [
        _event(envelope, user.id, UserCreated(user=user)),
        *reply_to(envelope, UserReply(user=user), producer=PRODUCER),
    ]


def _existing(session: Session, envelope: Envelope, user_id: str) -> UserRecord:
    user = store.get_user(session, tenant=envelope.tenant, user_id=user_id)
    if user is None:
        raise domain.not_found(user_id)
    return user


def replace_user(session: Session, envelope: Envelope, command: ReplaceUser) -> list[Outgoing]:
    tenant = envelope.tenant
    current = _existing(session, envelope, command.user_id)
    holder = store.user_id_holding_name(session, tenant=tenant, user_name=command.profile.user_name)
    domain.ensure_user_name_free(command.profile.user_name, holder_id=holder, user_id=command.user_id)
    updated, events = domain.replace_user(
        current, profile=command.profile, expected_version=command.expected_version, now=datetime.now(UTC)
    )
    if events:
        store.replace_user(session, tenant=tenant, user=updated)
    return [
        *(_event(envelope, updated.id, event) for event in events),
        *reply_to(envelope, UserReply(user=updated), producer=PRODUCER),
    ]


def delete_user(session: Session, envelope: Envelope, command: DeleteUser) -> list[Outgoing]:
    current = _existing(session, envelope, command.user_id)
    events = domain.delete_user(current, expected_version=command.expected_version)
    store.delete_user(session, tenant=envelope.tenant, user_id=current.id, now=datetime.now(UTC))
    return [
        *(_event(envelope, current.id, event) for event in events),
        *reply_to(envelope, Deleted(resource_id=current.id), producer=PRODUCER),
    ]


def get_user(session: Session, envelope: Envelope, query: GetUser) -> list[Outgoing]:
    user = _existing(session, envelope, query.user_id)
    return reply_to(envelope, UserReply(user=user), producer=PRODUCER)


def list_users(session: Session, envelope: Envelope, query: ListUsers) -> list[Outgoing]:
    condition = filters.to_condition(query.filter) if query.filter else None
    total, users = store.find_users(
        session,
        tenant=envelope.tenant,
        condition=condition,
        offset=query.start_index - 1,
        limit=query.count,
    )
    page = UserPage(total_results=total, start_index=query.start_index, users=tuple(users))
    return reply_to(envelope, page, producer=PRODUCER)


COMMAND_HANDLERS: HandlerMap = {CreateUser: create_user, ReplaceUser: replace_user, DeleteUser: delete_user}
QUERY_HANDLERS: HandlerMap = {GetUser: get_user, ListUsers: list_users}
