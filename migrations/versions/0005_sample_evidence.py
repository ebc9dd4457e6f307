"""Samples keep the evidence for their flag: the given label's probability after every
epoch and the top classes over the window, packed as bytes (see formats.evidence).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.add_column(sa.Column("history", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("top_classes", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("samples") as batch:
        batch.drop_column("top_classes")
        batch.drop_column("history")
