"""Alembic's environment, shared by every service's migration history (``servicekit/migrations.py``)."""
