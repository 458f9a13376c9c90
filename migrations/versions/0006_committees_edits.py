"""committees edits: one-off guests of a meeting (attendance rows with their own e-mail)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults fill the rows that already exist (members' invitations: not guests, no address).
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("guest", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("guest")
