"""Audits remember when their task was last sent, so that one whose message was lost is
sent again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True))
    # An audit's task was first sent when the audit was created.
    op.execute("UPDATE audits SET enqueued_at = created_at")
    with op.batch_alter_table("audits") as batch:
        batch.alter_column("enqueued_at", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.drop_column("enqueued_at")
