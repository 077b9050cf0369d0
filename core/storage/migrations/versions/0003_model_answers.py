"""Model-written answers: how each turn was answered, model latency and token counts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

def _columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("answer_mode", sa.String(length=16), nullable=True),
        sa.Column("model_ms", sa.Double(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("model_error", sa.String(length=200), nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        for column in _columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
