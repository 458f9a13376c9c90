"""ocr: the OCR job queue and the recognised text's status fields on a version

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_pages", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ocr_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("ocr_sha256", sa.String(length=64), nullable=True))
    op.create_table(
        "ocr_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["document_version.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_ocr_job_state"), "ocr_job", ["state"], unique=False)
    op.create_index(op.f("ix_ocr_job_version_id"), "ocr_job", ["version_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_ocr_job_version_id"), table_name="ocr_job")
    op.drop_index(op.f("ix_ocr_job_state"), table_name="ocr_job")
    op.drop_table("ocr_job")
    with op.batch_alter_table("document_version", schema=None) as batch_op:
        batch_op.drop_column("ocr_sha256")
        batch_op.drop_column("ocr_confidence")
        batch_op.drop_column("text_pages")
