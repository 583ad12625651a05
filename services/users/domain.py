"""Pure rules about users: no I/O, named errors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from contracts.envelope import Message
from contracts.rejections import Rejection, RejectionReason
from contracts.text import is_blank
from contracts.users import (
    UserDeactivated,
    UserDeleted,
    UserProfile,
    UserReactivated,
    UserRecord,
    UserUpdated,
)
from services.users.attributes import CATALOG, text_key


class UserNameTaken(Rejection):
    reason = RejectionReason.USER_NAME_TAKEN


class UserNotFound(Rejection):
    reason = RejectionReason.NOT_FOUND


class InvalidUser(Rejection):
    reason = RejectionReason.INVALID_VALUE


class InvalidFilter(Rejection):
    reason = RejectionReason.INVALID_FILTER


class VersionMismatch(Rejection):
    reason = RejectionReason.VERSION_MISMATCH


class NoSeatFree(Rejection):
    reason = RejectionReason.SEAT_LIMIT_REACHED


class ChangePending(Rejection):
    reason = RejectionReason.CHANGE_PENDING


class SeatEffect(StrEnum):
    NONE = "none"
    RESERVE = "reserve"  # the change waits for a seat
    RELEASE = "release"  # the change frees the seat afterwards


def user_name_key(user_name: str) -> str:
    """userName is unique per tenant compared case-insensitively (RFC 7643 §4.1.1: caseExact false),
    by the very key filters compare by (``attributes.text_key``: NFC, lower case, NFC again, since
    lower-casing can leave a string unnormalised: "J\u030c" → "j\u030c" → "\u01f0"). Were they to
    differ, ``userName eq`` would match two users that uniqueness let in, or miss one it then refuses
    to create again. Revision 0004 rewrote the keys stored before they were the same."""
    return text_key(CATALOG["username"], user_name)


# userName and externalId are keys of btree indexes, whose entries PostgreSQL refuses above 2,704 bytes
# (a message it refuses would be dead-lettered): 512 characters are at most 2,048 bytes in UTF-8.
MAX_KEY_LENGTH = 512


def check_profile(profile: UserProfile) -> None:
    if is_blank(profile.user_name):
        raise InvalidUser("userName is required and must not be blank.")
    for name, value in (("userName", profile.user_name), ("externalId", profile.external_id)):
        if value is not None and len(value) > MAX_KEY_LENGTH:
            raise InvalidUser(f"{name} is longer than {MAX_KEY_LENGTH} characters.")


def ensure_user_name_free(user_name: str, *, holder_id: str | None, user_id: str) -> None:
    if holder_id is not None and holder_id != user_id:
        raise UserNameTaken(
            f'userName "{user_name}" is already taken in this tenant (userNames are compared'
            " case-insensitively). Link the existing user, or change the userName in the"
            " identity provider."
        )


def ensure_id_never_used(user_id: str, *, used: bool) -> None:
    """Ids are never reused, not even after a delete."""
    if used:
        raise InvalidUser(f'The id "{user_id}" has already been used.')


def new_user(*, user_id: str, profile: UserProfile, now: datetime) -> UserRecord:
    check_profile(profile)
    return UserRecord(id=user_id, profile=profile, created=now, last_modified=now, version=1)


def not_found(user_id: str) -> UserNotFound:
    return UserNotFound(f'User "{user_id}" not found.')


def check_version(user: UserRecord, expected_version: int | None) -> None:
    """RFC 7644 §3.14: a write conditioned on a version that is no longer current is refused."""
    if expected_version is not None and expected_version != user.version:
        raise VersionMismatch(
            f'User "{user.id}" has changed (version {user.version}, expected {expected_version}).'
            " Read it again and retry."
        )


def replace_user(
    current: UserRecord, *, profile: UserProfile, expected_version: int | None, now: datetime
) -> tuple[UserRecord, list[Message]]:
    """The user after a full replacement, and what happened. Replacing with the same attributes
    changes nothing — no new version, no event — as IdPs re-send unchanged users all the time."""
    check_version(current, expected_version)
    check_profile(profile)
    if profile == current.profile:
        return current, []
    updated = current.model_copy(
        update={"profile": profile, "last_modified": now, "version": current.version + 1}
    )
    events: list[Message] = [UserUpdated(user=updated)]
    if current.profile.is_active and not profile.is_active:
        events.append(UserDeactivated(user_id=current.id))
    elif profile.is_active and not current.profile.is_active:
        events.append(UserReactivated(user_id=current.id))
    return updated, events


def delete_user(current: UserRecord, *, expected_version: int | None) -> list[Message]:
    check_version(current, expected_version)
    return [UserDeleted(user_id=current.id)]


def seat_effect(*, was_active: bool, now_active: bool) -> SeatEffect:
    """An active user holds one seat; an inactive or deleted user holds none."""
    if now_active and not was_active:
        return SeatEffect.RESERVE
    if was_active and not now_active:
        return SeatEffect.RELEASE
    return SeatEffect.NONE


def seat_owed(user: UserRecord | None, *, saga_pending: bool) -> SeatEffect:
    """What a reconciliation repair does for this user as they are now: a seat for an active user, none
    for an inactive, deleted or unknown one; nothing while a change waits for a seat (the saga decides)."""
    if saga_pending:
        return SeatEffect.NONE
    return SeatEffect.RESERVE if user is not None and user.profile.is_active else SeatEffect.RELEASE


def ensure_name_not_being_provisioned(user_name: str, *, holder_id: str | None, user_id: str) -> None:
    """A create of this userName waits for a seat: the IdP should ask again shortly (its GET will
    then find the user, or the name will be free)."""
    if holder_id is not None and holder_id != user_id:
        raise ChangePending(f'userName "{user_name}" is being provisioned right now; retry in a few seconds.')


def ensure_nothing_pending(user_id: str, *, pending: bool) -> None:
    """One change at a time per user: a saga waiting for a seat is not overtaken."""
    if pending:
        raise ChangePending(
            f'User "{user_id}" has a change waiting for a seat decision; retry in a few seconds.'
        )


def could_not_finish(*, creating: bool) -> str:
    """What the requester of a change undone is told (docs/errors.md): its seat was granted but the
    change could not be stored, so the seat was released and nothing changed."""
    what = "not created" if creating else "left inactive"
    return (
        f"Roster could not finish this change and undid it: the user was {what}, and no seat is held for"
        " them. Retry the request; if this persists, contact support with its request id."
    )


def no_seat_free(*, used: int, limit: int) -> NoSeatFree:
    return NoSeatFree(
        f"Seat limit reached: {used} of {limit} seats in use. Deactivate a user in Okta or contact"
        " your account team to add seats."
    )
