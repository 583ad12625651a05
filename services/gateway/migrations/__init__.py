"""The gateway database's schema revisions (Alembic), oldest first."""
