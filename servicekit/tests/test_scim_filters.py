"""Which operands a filter may compare a dateTime with (RFC 7643 §2.3.5)."""

from __future__ import annotations

from typing import Any

import pytest

from servicekit.scim_filters import is_datetime_operand


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.123456Z",
        "2026-01-01T02:00:00+02:00",
        "2026-01-01T00:00:00-05:30",
        "2026-01-01t00:00:00z",  # RFC 3339 §5.6
    ],
)
def test_an_instant_with_its_zone_is_an_operand(value: str) -> None:
    assert is_datetime_operand(value)


@pytest.mark.parametrize(
    "value",
    [
        5,  # pydantic reads it as 1970-01-01T00:00:05Z
        "2020",  # likewise, seconds since 1970
        1.5,
        True,
        "2026-01-01T00:00:00",  # no zone: no instant
        "2026-01-01",
        "2026-01-01 00:00:00Z",
        "2026-01-01T00:00Z",
        "2026-01-01T00:00:00+0000",
        " 2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z\n",
        "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # fullwidth digits: \d to Python, not to xsd
    ],
)
def test_anything_else_is_not(value: Any) -> None:
    assert not is_datetime_operand(value)
