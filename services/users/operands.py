"""A filter's value in the form the search index keeps it: scim2-models' coercion (``coerce_value``,
as ``ScimFilter.match`` coerces) and the attribute's comparison key; or ``NEVER`` when no value of the
attribute can be compared with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scim2_models import InvalidFilterException
from scim2_models.path import STRING_OPERATORS, CompareOperator, coerce_value

from servicekit.scim_filters import datetime_refusal, is_datetime_operand, refusal_reason
from services.users.attributes import Attribute, Kind, datetime_key, key_of
from services.users.domain import InvalidFilter


class Never:
    """An operand no value of the attribute can be compared with (``userName co 5``)."""


NEVER = Never()
Operand = str | None | Never


def coerced_operand(attribute: Attribute, op: CompareOperator, value: Any) -> Operand:
    """The filter value in the form the index keeps (``ScimFilter.match``'s coercion and key)."""
    if value is None:
        return None
    if attribute.kind is Kind.DATETIME and op not in STRING_OPERATORS and not is_datetime_operand(value):
        raise InvalidFilter(datetime_refusal(attribute.name))
    try:
        coerced = coerce_value(attribute.binding, value, op)
    except InvalidFilterException as error:  # already refused when parsed; kept for safety
        raise InvalidFilter(f"The filter is not valid: {refusal_reason(error)}.") from None
    if attribute.kind is Kind.STRING:
        if not isinstance(coerced, str):
            return NEVER
        try:
            coerced.encode()
        except UnicodeEncodeError:
            raise InvalidFilter(f"The filter value for {attribute.name} is not valid Unicode text.") from None
        return key_of(attribute, coerced)
    if op in STRING_OPERATORS or not isinstance(coerced, bool | datetime):
        return NEVER  # a boolean or dateTime is never a string, and never contains one
    if isinstance(coerced, datetime):
        return instant(attribute, coerced)
    return key_of(attribute, coerced)


def plain_operand(attribute: Attribute, value: Any) -> Operand:
    if value is None or not isinstance(value, str):
        return None if value is None else NEVER
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidFilter(f"The filter value for {attribute.name} is not valid Unicode text.") from None
    return key_of(attribute, value)


def instant(attribute: Attribute, moment: datetime) -> str:
    try:
        return datetime_key(moment)
    except ValueError:  # a time without a zone: refused before coercion, kept for safety
        raise InvalidFilter(datetime_refusal(attribute.name)) from None
    except OverflowError:
        # An xsd:dateTime whose UTC form falls outside years 1 to 9999 (``9999-12-31T23:59:59-14:00``) is
        # still an instant, after (or before) every one stored: compared as such, as Groups compare it.
        return _AFTER_EVERY_INSTANT if moment.year >= 9999 else _BEFORE_EVERY_INSTANT


# Keys in the index's form that sort after and before every key ``datetime_key`` makes.
_AFTER_EVERY_INSTANT = "9999-12-31T23:59:59.999999~"
_BEFORE_EVERY_INSTANT = "0000"
