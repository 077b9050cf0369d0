"""Security: sessions, the key check, audit actor and client; customer text encrypted.

Existing customer text (message bodies, titles, feedback comments, turn and span errors,
trace queries and span summaries) is encrypted in place with the deployment's keyring;
downgrading decrypts it again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ENCRYPTED = {  # table: (primary key, columns holding customer text)
    "messages": ("id", ("body",)),
    "conversations": ("id", ("title",)),
    "turns": ("id", ("error",)),
    "feedback": ("id", ("comment",)),
    "turn_traces": ("turn_id", ("query",)),
    "spans": ("id", ("error", "input_summary", "output_summary")),
}


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"], unique=False)
    op.create_table(
        "key_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("client", sa.String(length=64), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("title", existing_type=sa.String(length=120), type_=sa.Text(),
                           existing_nullable=False)
    _convert(lambda keyring, value: keyring.encrypt_text(value))


def downgrade() -> None:
    _convert(lambda keyring, value: keyring.decrypt_text(value))
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("title", existing_type=sa.Text(), type_=sa.String(length=120),
                           existing_nullable=False)
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("client")
        batch.drop_column("actor")
    op.drop_table("key_checks")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")


def _convert(change: Callable) -> None:
    """Apply `change(keyring, value)` to every stored customer-text value."""
    connection = op.get_bind()
    keyring_factory = op.get_context().config.attributes.get("keyring")
    keyring = None
    for table, (key, columns) in ENCRYPTED.items():
        rows = connection.execute(
            sa.text(f"select {key}, {', '.join(columns)} from {table}")).all()
        if not rows:
            continue
        if keyring is None:
            if keyring_factory is None:
                raise RuntimeError("This migration needs the encryption keys: run `concierge db upgrade`.")
            keyring = keyring_factory()
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        connection.execute(
            sa.text(f"update {table} set {assignments} where {key} = :key"),
            [{"key": row[0], **{c: None if v is None else change(keyring, v)
                                for c, v in zip(columns, row[1:], strict=True)}} for row in rows],
        )
