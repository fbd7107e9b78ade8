"""The SQL event store: the append-only, hash-chained log of events, its archive and read models."""
