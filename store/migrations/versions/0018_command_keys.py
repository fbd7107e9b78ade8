"""Commands found by their idempotency key: a key names one command of its caller, and a key
already stored on one decision is refused on another.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_command_ranges_idempotency_key", "command_ranges", ["idempotency_key"])


def downgrade() -> None:
    op.drop_index("ix_command_ranges_idempotency_key", "command_ranges")
