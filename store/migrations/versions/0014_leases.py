"""Leases: the process that holds a role a deployment runs once (the read-model projector), and
its heartbeat, so that a standby takes over when it stops and `concord doctor` sees it stop.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

_COUNT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("beats", _COUNT, nullable=False),
        sa.Column("beat_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
