"""People are told of notable events by a follower of the log (activities.notify.Notifications)
with its own position: an installation that upgrades starts it at the end of its log, whose
events each decision's run has already told.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision: str | None = "0018"
branch_labels: str | None = None
depends_on: str | None = None

NOTIFICATIONS = "notifications"


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO projection_positions (name, position) "
            "SELECT :name, COALESCE(MAX(position), 0) FROM events "
            "WHERE NOT EXISTS (SELECT 1 FROM projection_positions WHERE name = :name)"
        ).bindparams(name=NOTIFICATIONS)
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM projection_positions WHERE name = :name").bindparams(
            name=NOTIFICATIONS
        )
    )
