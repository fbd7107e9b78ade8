"""The run a decision closes in is archived by a follower of the log (activities.archivist.
Archivist) with its own position: an installation that upgrades starts it at the end of its
log, whose closed decisions' runs archived themselves (`concord doctor` finds any that did not).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None

ARCHIVIST = "archivist"


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO projection_positions (name, position) "
            "SELECT :name, COALESCE(MAX(position), 0) FROM events "
            "WHERE NOT EXISTS (SELECT 1 FROM projection_positions WHERE name = :name)"
        ).bindparams(name=ARCHIVIST)
    )


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM projection_positions WHERE name = :name").bindparams(name=ARCHIVIST)
    )
