"""Webhook signing secrets sealed at rest: room in `webhooks.secret` for the sealed text
(`v1:` and the base64 of a nonce, the AES-256-GCM ciphertext and its tag, 107 characters for a
secret of 49). The rows are sealed by the worker when it starts, under the key it is given
(store.webhook_secrets): a migration has no key, and the key stays out of the database.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.errors import Fault

revision = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(100), type_=sa.String(200), existing_nullable=False
        )


def downgrade() -> None:
    sealed = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM webhooks WHERE secret LIKE 'v1:%'"))
        .scalar_one()
    )
    if sealed:
        raise Fault(
            f"{sealed} webhook signing secrets are sealed (store.webhook_secrets): the code before "
            "revision 0015 cannot read them; remove those webhooks, or stay on this revision"
        )
    with op.batch_alter_table("webhooks") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(200), type_=sa.String(100), existing_nullable=False
        )
