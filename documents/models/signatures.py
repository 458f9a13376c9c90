"""The signature track of an agreement: one row per step (sent, signed by…, returned to draft)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base, utcnow


class StepKind(str, enum.Enum):
    """What one step of the track records."""

    ENVOI = "envoi"  # envoyé pour signature (à qui, quand)
    COORDINATION = "coordination"  # signé par la coordination
    DRAC = "drac"  # signé par la DRAC (par l'État pour un accord national)
    SIGNATAIRE = "signataire"  # protocole : signé par un des signataires nationaux
    RETOUR = "retour"  # renvoyé en brouillon, avec un motif

    @property
    def label(self) -> str:
        """French label."""
        return STEP_LABELS[self]


STEP_LABELS = {
    StepKind.ENVOI: "Envoyé pour signature",
    StepKind.COORDINATION: "Signé par la coordination",
    StepKind.DRAC: "Signé par la DRAC",
    StepKind.SIGNATAIRE: "Signé par un signataire",
    StepKind.RETOUR: "Renvoyé en brouillon",
}


class SignatureStep(Base):
    """One step of a document's signature track, who recorded it and when.

    A track is a ``cycle``: it starts with « envoi » and ends with the last signature (the
    document is then « signé ») or with « retour » (back to « brouillon »; the next sending
    opens the next cycle). ``seq`` numbers the steps of a cycle: the unique key makes two
    concurrent requests unable to record the same step twice.
    """

    __tablename__ = "signature_step"
    __table_args__ = (UniqueConstraint("document_id", "cycle", "seq", name="uq_signature_step_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    #: Person or organisation the document went to, or who signed (free text, as on the paper).
    signatory: Mapped[str] = mapped_column(String(300), default="")
    #: The signatory in the référentiel (a national signatory of a protocole), when known.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"),
                                                        nullable=True)
    #: The intranet account the document was sent to, when it has one (it receives the reminders).
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"),
                                                     nullable=True)
    #: Day of the sending or of the signature (as written on the document, not the day it was recorded).
    step_date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    #: The signed scan filed with the last signature.
    version_id: Mapped[int | None] = mapped_column(ForeignKey("document_version.id", ondelete="SET NULL"),
                                                   nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Last day a reminder was queued for the wait that follows this step (one per reminder period).
    reminded_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    organisation = relationship("Organisation", lazy="joined")
    recipient = relationship("User", foreign_keys=[recipient_id], lazy="joined")
    actor = relationship("User", foreign_keys=[actor_id], lazy="joined")
    version = relationship("DocumentVersion", lazy="joined")

    @property
    def kind_label(self) -> str:
        """French label of the step."""
        try:
            return StepKind(self.kind).label
        except ValueError:
            return self.kind
