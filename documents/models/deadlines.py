"""Stored deadlines of agreements (échéance, reconduction, préavis) and how each term was handled."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base, utcnow


class DeadlineOutcome(str, enum.Enum):
    """What was decided about one term of an agreement."""

    RECONDUITE = "reconduite"
    DENONCEE = "denoncee"
    REMPLACEE = "remplacee"

    @property
    def label(self) -> str:
        """French label."""
        return OUTCOME_LABELS[self]


OUTCOME_LABELS = {
    DeadlineOutcome.RECONDUITE: "Reconduite",
    DeadlineOutcome.DENONCEE: "Dénoncée",
    DeadlineOutcome.REMPLACEE: "Remplacée",
}


class DocumentDeadline(Base):
    """One dated milestone of one term of an agreement, computed by ``documents.deadlines``.

    Rows are rewritten whenever the dates they derive from change (see ``documents.deadline_store``),
    so that lists filter and sort them in SQL.
    """

    __tablename__ = "document_deadline"
    __table_args__ = (
        UniqueConstraint("document_id", "term", "kind", name="uq_document_deadline_term_kind"),
        Index("ix_document_deadline_date", "date", "document_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    #: 0 for the first term, n for the n-th tacit renewal.
    term: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # "echeance", "reconduction", "preavis"
    date: Mapped[dt.date] = mapped_column(Date)
    #: The same date of the next term, when there is one: from that day on this one is history, not
    #: an overdue alert (stored so that « Dépassées » needs no subquery).
    superseded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)


class DeadlineHandling(Base):
    """The decision recorded on one term: renewed, denounced or replaced by another document."""

    __tablename__ = "deadline_handling"
    __table_args__ = (UniqueConstraint("document_id", "term", name="uq_deadline_handling_term"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    term: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    replacement_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="SET NULL"),
                                                       nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    handled_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                      nullable=True)

    replacement = relationship("Document", foreign_keys=[replacement_id], lazy="joined")
    handled_by = relationship("User", foreign_keys=[handled_by_id], lazy="joined")

    @property
    def outcome_label(self) -> str:
        """French label of the outcome."""
        return DeadlineOutcome(self.outcome).label


class DeadlineAlert(Base):
    """One alert sent: a date of a term, at one threshold, to one user (written with its outbox row).

    The unique key is what makes ``intranet deadlines-notify`` send each alert once, whatever
    runs it and however often: a second run, a restart or a concurrent scheduler finds (or
    collides with) the row and sends nothing twice. The date is part of the key: a date that
    moves (the agreement was edited) is a new date, announced again.
    """

    __tablename__ = "deadline_alert"
    __table_args__ = (
        UniqueConstraint("user_id", "document_id", "term", "kind", "date", "threshold",
                         name="uq_deadline_alert_user_id"),
        Index("ix_deadline_alert_date", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    term: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    #: « 90 », « 30 », « 7 » (days ahead) or « depassee ».
    threshold: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id", ondelete="SET NULL"), nullable=True)


class DeadlineFeedToken(Base):
    """A personal, revocable secret for the ICS feed of deadlines; only its SHA-256 is kept."""

    __tablename__ = "deadline_feed_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user = relationship("User", lazy="joined")
