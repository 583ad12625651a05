"""Pure rules about users: no I/O, named errors."""

from __future__ import annotations

from datetime import datetime

from contracts.rejections import Rejection, RejectionReason
from contracts.users import UserProfile, UserRecord


class UserNameTaken(Rejection):
    reason = RejectionReason.USER_NAME_TAKEN


class UserNotFound(Rejection):
    reason = RejectionReason.NOT_FOUND


class InvalidUser(Rejection):
    reason = RejectionReason.INVALID_VALUE


class InvalidFilter(Rejection):
    reason = RejectionReason.INVALID_FILTER


def user_name_key(user_name: str) -> str:
    """userName is unique per tenant compared case-insensitively (RFC 7643 §4.1.1: caseExact false)."""
    return user_name.strip().casefold()


def check_profile(profile: UserProfile) -> None:
    if not profile.user_name.strip():
        raise InvalidUser("userName is required and must not be blank.")


def ensure_user_name_free(user_name: str, *, holder_id: str | None, user_id: str) -> None:
    if holder_id is not None and holder_id != user_id:
        raise UserNameTaken(
            f'userName "{user_name}" is already taken in this tenant (userNames are compared'
            " case-insensitively). Link the existing user, or change the userName in the"
            " identity provider."
        )


def new_user(*, user_id: str, profile: UserProfile, now: datetime) -> UserRecord:
    check_profile(profile)
    return UserRecord(id=user_id, profile=profile, created=now, last_modified=now, version=1)


def not_found(user_id: str) -> UserNotFound:
    return UserNotFound(f'User "{user_id}" not found.')
