"""Portal sessions kept on the server: the cookie holds a random id, the table its SHA-256, the
token it was opened with (by id), its CSRF token and its times.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.String(16), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.String(27), nullable=False),
        sa.Column("last_seen_at", sa.String(27), nullable=False),
        sa.Column("expires_at", sa.String(27), nullable=False),
    )
    op.create_index("ix_portal_sessions_token_id", "portal_sessions", ["token_id"])


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_token_id", table_name="portal_sessions")
    op.drop_table("portal_sessions")
