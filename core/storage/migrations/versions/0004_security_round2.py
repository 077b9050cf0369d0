"""Security, second round: system accounts found by a flag, conversation ids never reused.

`users.system_account` names the app's own accounts (the terminal's `cli` customer), so
they are found by something a sign-up cannot claim. No existing user is flagged: a
customer who signed up as `cli` before this revision stays an ordinary customer, and the
terminal gets an account of its own on first use. On SQLite the conversations table is
rebuilt with AUTOINCREMENT, so an id freed by a purge is never handed out again
(PostgreSQL's sequences never reuse one).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("system_account", sa.String(length=32), nullable=True))
        batch.create_unique_constraint("uq_users_system_account", ["system_account"])
    if _sqlite():
        with op.batch_alter_table("conversations", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if _sqlite():
        with op.batch_alter_table("conversations", recreate="always",
                                  table_kwargs={"sqlite_autoincrement": False}):
            pass
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_system_account", type_="unique")
        batch.drop_column("system_account")
