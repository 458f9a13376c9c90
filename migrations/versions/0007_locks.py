"""locks: an administrator's unlocking of a locked record (approved minutes, signed agreements)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rows are locked (never unlocked): NULL unlocked_at, empty reason.
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unlocked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("unlocked_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("unlock_reason", sa.Text(), nullable=False, server_default=""))
        batch_op.create_foreign_key(op.f("fk_document_unlocked_by_id_user_account"), "user_account",
                                    ["unlocked_by_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_document_unlocked_by_id_user_account"), type_="foreignkey")
        batch_op.drop_column("unlock_reason")
        batch_op.drop_column("unlocked_by_id")
        batch_op.drop_column("unlocked_at")
