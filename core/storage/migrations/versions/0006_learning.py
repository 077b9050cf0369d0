"""Learning from reviewed traffic: labelled examples, model versions, each turn's model.

Labelled examples hold customer text, so `text` is encrypted (EncryptedText) like every
other customer text; a new table starts empty, so nothing existing is re-encrypted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("labels_total", sa.Integer(), nullable=False),
        sa.Column("labels_new", sa.Integer(), nullable=False),
        sa.Column("held_out", sa.Integer(), nullable=False),
        sa.Column("score_before", sa.Double(), nullable=True),
        sa.Column("score_after", sa.Double(), nullable=True),
        sa.Column("train_seconds", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_versions_status", "model_versions", ["status", "id"])
    op.create_table(
        "labelled_examples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("intent", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("labelled_by", sa.String(length=64), nullable=True),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("masked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["turn_id"], ["turns.id"]),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_labelled_status", "labelled_examples", ["status", "id"])
    op.create_index(op.f("ix_labelled_examples_turn_id"), "labelled_examples", ["turn_id"])
    op.create_index(op.f("ix_labelled_examples_message_id"), "labelled_examples", ["message_id"])
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("model_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("model_version")
    op.drop_table("labelled_examples")
    op.drop_table("model_versions")
