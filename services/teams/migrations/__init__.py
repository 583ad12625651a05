"""The teams database's schema revisions (Alembic), oldest first."""
