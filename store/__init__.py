"""The SQL event store: the append-only, hash-chained log of events, and read models."""
