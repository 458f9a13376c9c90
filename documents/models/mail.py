"""The mail outbox: each outgoing message is a row, written with the change that causes it."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from documents.db import Base, utcnow


class MailState(str, enum.Enum):
    """Where a message stands: waiting, being sent, sent, failed (retried later), dead (given up)."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"

    @property
    def label(self) -> str:
        """French label shown to administrators."""
        return {"pending": "en attente", "sending": "en cours d'envoi", "sent": "envoyé",
                "failed": "en échec, nouvel essai prévu", "dead": "abandonné"}[self.value]


class MailOutbox(Base):
    """One outgoing message; the mail worker delivers it through the configured backend."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    #: Optional HTML alternative of ``body`` (already escaped by whoever composed it); "" for plain text only.
    html: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: ``[{"filename", "content_type", "data" (base64)}]``: small files only (an invitation .ics).
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: What caused the message, e.g. « meeting:12:scheduled » (shown to administrators).
    origin: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(10), default=MailState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When the worker may (re)try; while a message is « sending », the end of the worker's lease.
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
