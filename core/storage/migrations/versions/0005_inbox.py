"""The human hand-off inbox: a conversation's status and assignee, message senders, ratings.

Existing conversations start as `bot`, or `waiting` when the customer had asked for a
person. Revision 0005 follows 0003 on this branch (0004 is assigned to another change:
the lead chains them when merging).

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
    with op.batch_alter_table("conversations", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("status", sa.String(length=16), nullable=False,
                                   server_default="bot"))
        batch.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assigned_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("first_human_reply_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
        batch.create_foreign_key("fk_conversations_assignee_id_users", "users",
                                 ["assignee_id"], ["id"])
        batch.create_index("ix_conversations_assignee_id", ["assignee_id"])
        batch.create_index("ix_conversations_status_queue", ["status", "handoff_requested_at"])
    op.execute("update conversations set status = 'waiting' "
               "where handoff_requested_at is not null")
    with op.batch_alter_table("conversations", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.alter_column("status", server_default=None, existing_type=sa.String(length=16),
                           existing_nullable=False)
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("sender_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("for_person", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_foreign_key("fk_messages_sender_id_users", "users", ["sender_id"], ["id"])
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("for_person", server_default=None, existing_type=sa.Boolean(),
                           existing_nullable=False)
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "resolved_at"),
    )
    op.create_index("ix_ratings_conversation_id", "ratings", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_ratings_conversation_id", table_name="ratings")
    op.drop_table("ratings")
    op.execute("delete from messages where role in ('agent', 'note', 'event')")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("fk_messages_sender_id_users", type_="foreignkey")
        batch.drop_column("for_person")
        batch.drop_column("sender_id")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_index("ix_conversations_status_queue")
        batch.drop_index("ix_conversations_assignee_id")
        batch.drop_constraint("fk_conversations_assignee_id_users", type_="foreignkey")
        for name in ("resolved_at", "first_human_reply_at", "assigned_at", "assignee_id",
                     "status"):
            batch.drop_column(name)
