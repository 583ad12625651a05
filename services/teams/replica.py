"""Placeholder: the users-events listener is being written (issue 5)."""

from __future__ import annotations

from servicekit.handling import HandlerMap

USER_EVENT_HANDLERS: HandlerMap = {}
