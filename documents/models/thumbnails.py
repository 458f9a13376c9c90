"""The thumbnail queue: one row per stored file (by content hash) whose first page is drawn small."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from documents.db import Base, utcnow


class ThumbnailState(str, enum.Enum):
    """Life cycle of a thumbnail job."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ThumbnailJob(Base):
    """A file to draw; keyed by its SHA-256, so two documents sharing a file share one thumbnail.

    A worker claims the job under a lease longer than its conversion bound: a worker killed
    mid-job leaves the lease to expire and another worker takes the job again.
    """

    __tablename__ = "thumbnail_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=ThumbnailState.PENDING.value, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    worker: Mapped[str] = mapped_column(String(120), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
