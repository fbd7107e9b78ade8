"""Access tokens of the HTTP API: each secret's SHA-256 only.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

_INSTANT = sa.String(27)


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("token_id", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("issued_at", _INSTANT, nullable=False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("expires_at", _INSTANT, nullable=True),
        sa.Column("revoked_at", _INSTANT, nullable=True),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_access_tokens"),
    )


def downgrade() -> None:
    op.drop_table("access_tokens")
