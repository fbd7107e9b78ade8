"""The event store's contract tests, run on SQLite and on PostgreSQL."""
