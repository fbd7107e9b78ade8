"""Temporal workflows: one DecisionWorkflow per joint decision, deterministic orchestration only."""
