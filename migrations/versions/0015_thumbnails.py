"""thumbnails: the queue of first-page thumbnails, one job per stored file (content hash)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

The images themselves live on disk under the data folder (``thumbnails/``), named by the
file's SHA-256; the table only says which files wait, which are done and which failed (why).
Existing documents are queued by ``intranet thumbnails`` or by the worker's own sweep.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thumbnail_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_thumbnail_job")),
        sa.UniqueConstraint("sha256", name=op.f("uq_thumbnail_job_sha256")),
    )
    with op.batch_alter_table("thumbnail_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_thumbnail_job_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("thumbnail_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_thumbnail_job_state"))
    op.drop_table("thumbnail_job")
