"""The seats database's schema revisions (Alembic), oldest first."""
