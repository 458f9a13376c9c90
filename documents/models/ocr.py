"""The OCR queue: one row per version whose scanned pages wait for text recognition."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base, utcnow


class OcrState(str, enum.Enum):
    """Life cycle of an OCR job."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class OcrJob(Base):
    """A version to read by OCR; claimed by one worker at a time under a lease it renews while working.

    A worker killed mid-job stops renewing its lease: once ``lease_until`` is past, another
    worker claims the job again (``attempts`` bounds how many times).
    """

    __tablename__ = "ocr_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_version.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(10), default=OcrState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Re-read every page, even those that already carry text (``intranet ocr --force``).
    force: Mapped[bool] = mapped_column(Boolean, default=False)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker: Mapped[str] = mapped_column(String(120), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    version = relationship("DocumentVersion", lazy="joined")
