"""deadlines: stored échéance, reconduction and préavis dates of each term, and how each term was handled

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01

``document_deadline`` holds one row per dated milestone of each term of an agreement, so that
the échéances page, the dashboard and the API filter and sort in SQL instead of computing
every candidate in Python. ``deadline_handling`` records the decision taken on a term
(reconduite, dénoncée, remplacée par …). ``document.deadlines_until`` is the horizon up to
which tacit renewals are stored.

Backfill: the rows of every existing document are computed by ``documents.deadlines`` (pure
date arithmetic, no models), with the same horizon rule as ``documents.deadline_store``.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

#: Same as ``documents.deadline_store.STORE_YEARS`` (copied: a migration must not change later).
STORE_YEARS = 10


def upgrade() -> None:
    op.create_table(
        "document_deadline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("superseded_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"], name=op.f("fk_document_deadline_document_id_document"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_deadline")),
        sa.UniqueConstraint("document_id", "term", "kind", name="uq_document_deadline_term_kind"),
    )
    with op.batch_alter_table("document_deadline", schema=None) as batch_op:
        batch_op.create_index("ix_document_deadline_date", ["date", "document_id", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_document_deadline_document_id"), ["document_id"], unique=False)
    op.create_table(
        "deadline_handling",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("replacement_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"],
                                name=op.f("fk_deadline_handling_document_id_document"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["replacement_id"], ["document.id"],
                                name=op.f("fk_deadline_handling_replacement_id_document"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["handled_by_id"], ["user_account.id"],
                                name=op.f("fk_deadline_handling_handled_by_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadline_handling")),
        sa.UniqueConstraint("document_id", "term", name="uq_deadline_handling_term"),
    )
    with op.batch_alter_table("deadline_handling", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_handling_document_id"), ["document_id"], unique=False)
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadlines_until", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_document_deadlines_until"), ["deadlines_until"], unique=False)
    _backfill()


def _backfill() -> None:
    from documents import deadlines

    bind = op.get_bind()
    doc = sa.table("document", sa.column("id", sa.Integer), sa.column("effective_date", sa.Date),
                   sa.column("end_date", sa.Date), sa.column("duration_months", sa.Integer),
                   sa.column("tacit_renewal", sa.Boolean), sa.column("notice_months", sa.Integer),
                   sa.column("deadlines_until", sa.Date))
    rows_table = sa.table("document_deadline", sa.column("document_id", sa.Integer), sa.column("term", sa.Integer),
                          sa.column("kind", sa.String), sa.column("date", sa.Date),
                          sa.column("superseded_on", sa.Date))
    today = dt.date.today()
    dated = sa.or_(doc.c.end_date.is_not(None),
                   sa.and_(doc.c.effective_date.is_not(None), doc.c.duration_months.is_not(None)))
    batch: list[dict[str, object]] = []
    for d in bind.execute(sa.select(doc).where(dated)).mappings().all():
        first = deadlines.end_date(d["effective_date"], d["duration_months"], d["end_date"])
        until = deadlines.add_months(max(today, first or today), 12 * STORE_YEARS)
        items = deadlines.deadlines_of(
            d["id"], effective=d["effective_date"], duration_months=d["duration_months"],
            explicit_end=d["end_date"], tacit_renewal=bool(d["tacit_renewal"]),
            notice_months=d["notice_months"], until=until)
        dates = {(i.renewal, i.kind): i.date for i in items}
        batch.extend({"document_id": d["id"], "term": i.renewal, "kind": i.kind, "date": i.date,
                      "superseded_on": dates.get((i.renewal + 1, i.kind))} for i in items)
        if d["tacit_renewal"] and items:
            bind.execute(sa.update(doc).where(doc.c.id == d["id"]).values(deadlines_until=until))
        if len(batch) >= 5000:
            bind.execute(sa.insert(rows_table), batch)
            batch = []
    if batch:
        bind.execute(sa.insert(rows_table), batch)


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_deadlines_until"))
        batch_op.drop_column("deadlines_until")
    with op.batch_alter_table("deadline_handling", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_handling_document_id"))
    op.drop_table("deadline_handling")
    with op.batch_alter_table("document_deadline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_deadline_document_id"))
        batch_op.drop_index("ix_document_deadline_date")
    op.drop_table("document_deadline")
