"""Idempotency keys reserved for the one command each names: by principal and key, the decision
and the digest of the command it was first given for.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("principal", sa.String(200), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), primary_key=True),
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("command_digest", sa.String(64), nullable=False),
        sa.Column("given_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
