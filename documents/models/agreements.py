"""Amounts of the four funding lines recorded on an agreement (convention, avenant, contrat d'objectifs)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from documents.db import Base, utcnow


class AgreementAmount(Base):
    """One funding line of one agreement, in euro cents (integers: exact on SQLite and PostgreSQL alike).

    A row exists only for a line someone entered (or corrected); a line without a row falls back to
    the values of the draft the agreement was generated from, if any (``documents.agreements.amounts``).
    On an avenant, a row is the new amount of that line (« le montant est porté à … »).
    """

    __tablename__ = "agreement_amount"
    __table_args__ = (CheckConstraint("amount_cents >= 0", name="amount_not_negative"),)

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    #: One of ``documents.agreements.amounts.LINES``.
    line: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )


__all__ = ["AgreementAmount"]
