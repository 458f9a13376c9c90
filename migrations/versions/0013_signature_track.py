"""signature track: one row per step of an agreement's signature (sent, signed by…, returned to draft)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

``signature_step`` records who sent a convention, avenant, contrat d'objectifs or protocole for
signature, to whom and when, then each signature (coordination, DRAC, or each national
signatory of a protocole) with its date, and a return to draft with its reason. No backfill:
documents already « en signature » simply have no recorded step yet.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signature_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("signatory", sa.String(length=300), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("step_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_signature_step_document_id_document"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_signature_step_organisation_id_organisation"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["recipient_id"], ["user_account.id"],
                                name=op.f("fk_signature_step_recipient_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["version_id"], ["document_version.id"],
                                name=op.f("fk_signature_step_version_id_document_version"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["actor_id"], ["user_account.id"],
                                name=op.f("fk_signature_step_actor_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signature_step")),
        sa.UniqueConstraint("document_id", "cycle", "seq", name="uq_signature_step_seq"),
    )
    with op.batch_alter_table("signature_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signature_step_document_id"), ["document_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signature_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signature_step_document_id"))
    op.drop_table("signature_step")
