"""agreement amounts: the four funding lines of conventions, avenants and contrats d'objectifs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

``agreement_amount`` holds one row per funding line entered on an agreement, in euro cents
(an integer: exact on SQLite, which has no decimal type, as on PostgreSQL). Lines nobody
entered have no row; they fall back to the values of the draft the agreement was generated
from. Relations between agreements use the existing typed links (« modifie », « relève de »):
no new column. No backfill: generated agreements read their draft's values on the fly.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_amount",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.String(length=40), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("amount_cents >= 0", name=op.f("ck_agreement_amount_amount_not_negative")),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"],
                                name=op.f("fk_agreement_amount_document_id_document"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by_id"], ["user_account.id"],
                                name=op.f("fk_agreement_amount_updated_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("document_id", "line", name=op.f("pk_agreement_amount")),
    )


def downgrade() -> None:
    op.drop_table("agreement_amount")
