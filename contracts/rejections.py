"""Why a command or query was refused, and how each reason reads in SCIM (RFC 7644 §3.12)."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class RejectionReason(StrEnum):
    USER_NAME_TAKEN = "user_name_taken"
    NOT_FOUND = "not_found"
    INVALID_VALUE = "invalid_value"
    INVALID_FILTER = "invalid_filter"
    VERSION_MISMATCH = "version_mismatch"
    SEAT_LIMIT_REACHED = "seat_limit_reached"
    CHANGE_PENDING = "change_pending"
    INTERNAL_ERROR = "internal_error"
    TEAM_NAME_CLASH = "team_name_clash"
    MANAGED_ELSEWHERE = "managed_elsewhere"  # one-way sync: managed in the IdP, or derived
    TOO_MANY = "too_many"


class ScimErrorShape(NamedTuple):
    status: int
    scim_type: str | None


SCIM_ERROR_FOR: dict[RejectionReason, ScimErrorShape] = {
    RejectionReason.USER_NAME_TAKEN: ScimErrorShape(409, "uniqueness"),
    RejectionReason.NOT_FOUND: ScimErrorShape(404, None),
    RejectionReason.INVALID_VALUE: ScimErrorShape(400, "invalidValue"),
    RejectionReason.INVALID_FILTER: ScimErrorShape(400, "invalidFilter"),
    RejectionReason.VERSION_MISMATCH: ScimErrorShape(412, None),  # RFC 7644 §3.14
    RejectionReason.SEAT_LIMIT_REACHED: ScimErrorShape(403, None),
    RejectionReason.CHANGE_PENDING: ScimErrorShape(503, None),  # answered with Retry-After
    RejectionReason.INTERNAL_ERROR: ScimErrorShape(500, None),
    RejectionReason.TEAM_NAME_CLASH: ScimErrorShape(409, "uniqueness"),
    RejectionReason.MANAGED_ELSEWHERE: ScimErrorShape(400, "mutability"),
    RejectionReason.TOO_MANY: ScimErrorShape(400, "tooMany"),
}


class Rejection(Exception):
    """A domain rule said no. Raised by pure domain code, answered as ``CommandRejected``."""

    reason: RejectionReason

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
