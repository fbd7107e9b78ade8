"""Temporal activities: the side effects of decision workflows, each small and idempotent."""
