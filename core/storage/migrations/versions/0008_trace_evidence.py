"""The evidence of a turn's intent decision in its trace: the nearest examples by meaning
(text masked, intent, similarity), encrypted like the rest of the trace's text.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turn_traces") as batch:
        batch.add_column(sa.Column("evidence", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turn_traces") as batch:
        batch.drop_column("evidence")
