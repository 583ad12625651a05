"""The users database's schema revisions (Alembic), oldest first."""
