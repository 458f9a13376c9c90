"""deadline alerts: once-only record of each alert sent, opt-out, HTML mail, personal ICS feed of deadlines

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

``deadline_alert`` records each alert sent (user, date of a term, threshold) in the transaction
that writes its outbox row, so that ``intranet deadlines-notify`` never sends one twice.
``user_account.deadline_alerts`` is the profile's opt-out (on by default, existing accounts
included). ``mail_outbox.html`` holds an optional HTML alternative of a message.
``deadline_feed_token`` holds the SHA-256 of each personal ICS feed token of deadlines.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_alerts", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "deadline_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("threshold", sa.String(length=10), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_deadline_alert_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_deadline_alert_document_id_document"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["outbox_id"], ["mail_outbox.id"],
                                name=op.f("fk_deadline_alert_outbox_id_mail_outbox"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_alert")),
        sa.UniqueConstraint("user_id", "document_id", "term", "kind", "date", "threshold",
                            name="uq_deadline_alert_user_id"),
    )
    with op.batch_alter_table("deadline_alert", schema=None) as batch_op:
        batch_op.create_index("ix_deadline_alert_date", ["date"], unique=False)
        batch_op.create_index(batch_op.f("ix_deadline_alert_document_id"), ["document_id"], unique=False)
    op.create_table(
        "deadline_feed_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_deadline_feed_token_user_id_user_account"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_feed_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_deadline_feed_token_token_hash")),
    )
    with op.batch_alter_table("deadline_feed_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_feed_token_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deadline_feed_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_feed_token_user_id"))
    op.drop_table("deadline_feed_token")
    with op.batch_alter_table("deadline_alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_alert_document_id"))
        batch_op.drop_index("ix_deadline_alert_date")
    op.drop_table("deadline_alert")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_column("html")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("deadline_alerts")
