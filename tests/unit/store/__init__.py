"""Pure tests of the store's hashing and records."""
