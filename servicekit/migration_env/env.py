"""Alembic's ``env.py`` for every service: runs on the connection ``servicekit.migrations`` hands
over (the one holding the schema lock), compares only the service's own tables."""

from __future__ import annotations

from alembic import context

from servicekit.migrations import configure_context

configure_context(context)
