"""Drafting from Word models: the model registry, field overrides, provenance, batch jobs."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base, utcnow


class DraftingTemplate(Base):
    """A Word model usable for drafting; its bytes are the versions of a "modele" document."""

    __tablename__ = "drafting_template"

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    #: Stable name of a built-in model (``convention-drac-coordination``…); uploaded ones get one too.
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    #: Type of the drafts it produces (convention, avenant…).
    output_type: Mapped[str] = mapped_column(String(40))
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    document = relationship("Document", lazy="joined")


class FieldOverride(Base):
    """An administrator's change to the field catalogue (applies to every model using the field)."""

    __tablename__ = "drafting_field_override"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(300), nullable=True)
    type: Mapped[str | None] = mapped_column(String(20), nullable=True)
    required: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: The default value, as a user would type it (JSON: text, or rows for a list).
    default: Mapped[object | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )


class Generation(Base):
    """Provenance of one generated version: which model, which model version, which values."""

    __tablename__ = "drafting_generation"
    __table_args__ = (
        Index("ix_drafting_generation_template_region_year", "template_document_id", "region_code", "year"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    template_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL"), nullable=True
    )
    template_version: Mapped[int] = mapped_column(Integer)
    template_slug: Mapped[str] = mapped_column(String(120))
    template_sha256: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The exact values typed (before formatting), as JSON.
    input_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("drafting_batch.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    document = relationship("Document", foreign_keys=[document_id], lazy="joined")


class BatchStatus(str, enum.Enum):
    """Life of a batch job."""

    EN_ATTENTE = "en_attente"
    EN_COURS = "en_cours"
    TERMINE = "termine"
    ECHEC = "echec"

    @property
    def label(self) -> str:
        """French label."""
        return {
            "en_attente": "En attente", "en_cours": "En cours", "termine": "Terminé", "echec": "Échec",
        }[self.value]


class DraftingBatch(Base):
    """A batch of drafts (one per region), run in the background; its status is polled."""

    __tablename__ = "drafting_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="SET NULL"), nullable=True
    )
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=BatchStatus.EN_ATTENTE.value)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    #: What was asked: {"common": {...}, "rows": {region_code: {...}}}.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Per-region outcome: [{"region": "11", "status": "ok", "document_id": 3, ...}].
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    zip_name: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True, index=True
    )

    @property
    def finished(self) -> bool:
        """True once the job ended (well or not)."""
        return self.status in (BatchStatus.TERMINE.value, BatchStatus.ECHEC.value)

    @property
    def status_label(self) -> str:
        """French label of the status."""
        return BatchStatus(self.status).label
