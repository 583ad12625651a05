"""Placeholder: the SCIM group and portal team handlers are being written (issue 5)."""

from __future__ import annotations

from servicekit.handling import HandlerMap

COMMAND_HANDLERS: HandlerMap = {}
QUERY_HANDLERS: HandlerMap = {}
