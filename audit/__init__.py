"""Audit: verification of the log, point-in-time reconstruction, replay and export."""
