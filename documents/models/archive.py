"""The archive: documents, their versions, typed links, and the search outbox."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base, utcnow


class DocType(str, enum.Enum):
    """Types of documents the programme keeps."""

    PROTOCOLE = "protocole"
    CONVENTION = "convention"
    AVENANT = "avenant"
    CONTRAT_OBJECTIFS = "contrat_objectifs"
    COMPTE_RENDU = "compte_rendu"
    BILAN = "bilan"
    CAHIER_DES_CHARGES = "cahier_des_charges"
    MODELE = "modele"
    AUTRE = "autre"

    @property
    def label(self) -> str:
        """French label."""
        return DOC_TYPE_LABELS[self]


DOC_TYPE_LABELS = {
    DocType.PROTOCOLE: "Protocole",
    DocType.CONVENTION: "Convention",
    DocType.AVENANT: "Avenant",
    DocType.CONTRAT_OBJECTIFS: "Contrat d'objectifs",
    DocType.COMPTE_RENDU: "Compte rendu / procès-verbal",
    DocType.BILAN: "Bilan",
    DocType.CAHIER_DES_CHARGES: "Cahier des charges",
    DocType.MODELE: "Modèle",
    DocType.AUTRE: "Autre",
}


class DocStatus(str, enum.Enum):
    """Life cycle of a document."""

    BROUILLON = "brouillon"
    EN_SIGNATURE = "en_signature"
    SIGNE = "signe"
    ARCHIVE = "archive"

    @property
    def label(self) -> str:
        """French label."""
        return DOC_STATUS_LABELS[self]


DOC_STATUS_LABELS = {
    DocStatus.BROUILLON: "Brouillon",
    DocStatus.EN_SIGNATURE: "En signature",
    DocStatus.SIGNE: "Signé",
    DocStatus.ARCHIVE: "Archivé",
}


class LinkType(str, enum.Enum):
    """Typed links between documents, read "source <verb> target"."""

    MODIFIE = "modifie"
    RELEVE_DE = "releve_de"
    REMPLACE = "remplace"
    CONCERNE = "concerne"

    @property
    def label(self) -> str:
        """Verb from the source's side."""
        return LINK_LABELS[self][0]

    @property
    def inverse_label(self) -> str:
        """Verb from the target's side."""
        return LINK_LABELS[self][1]


LINK_LABELS = {
    LinkType.MODIFIE: ("modifie", "est modifié par"),
    LinkType.RELEVE_DE: ("relève de", "encadre"),
    LinkType.REMPLACE: ("remplace", "est remplacé par"),
    LinkType.CONCERNE: ("concerne", "est concerné par"),
}


class TextStatus(str, enum.Enum):
    """Where a version's text comes from, and whether all of it is in the search index."""

    OK = "ok"  # texte extrait (a text layer on every page)
    OCR = "ocr"  # texte reconnu: every page read by OCR or by extraction
    PARTIAL = "partial"  # some pages still carry no text after OCR
    PENDING = "pending"  # waiting for the OCR worker
    RUNNING = "running"  # the OCR worker is reading it
    EMPTY = "empty"  # OCR found no text at all
    FAILED = "failed"
    NONE = "none"


#: Statuses whose whole text is in the search index (« Sans texte indexé » lists the others).
INDEXED_TEXT_STATUSES = frozenset({TextStatus.OK.value, TextStatus.OCR.value})


document_party = Table(
    "document_party",
    Base.metadata,
    Column("document_id", ForeignKey("document.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)

document_quartier = Table(
    "document_quartier",
    Base.metadata,
    Column("document_id", ForeignKey("document.id", ondelete="CASCADE"), primary_key=True),
    Column("quartier_code", ForeignKey("quartier.code", ondelete="CASCADE"), primary_key=True),
)


class Document(Base):
    """An archived document: its metadata; the bytes live in its versions."""

    __tablename__ = "document"
    __table_args__ = (
        Index("ix_document_region_year_type", "region_code", "year", "doc_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    doc_type: Mapped[str] = mapped_column(String(40), index=True)
    region_code: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("region.code"), nullable=True, index=True
    )
    year: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default=DocStatus.BROUILLON.value, index=True)
    signature_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    effective_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)
    duration_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tacit_renewal: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_months: Mapped[int | None] = mapped_column(Integer, nullable=True)
    keywords: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    #: Set while an administrator has unlocked a locked record (see ``documents.locking``).
    unlocked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unlocked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    unlock_reason: Mapped[str] = mapped_column(Text, default="")
    #: Last day up to which the tacit renewals' deadlines are stored (``documents.deadline_store``).
    deadlines_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True, index=True)

    region = relationship("Region", lazy="joined")
    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document", order_by="DocumentVersion.number", cascade="all, delete-orphan",
        lazy="selectin",
    )
    parties = relationship("Organisation", secondary=document_party, lazy="selectin",
                           order_by="Organisation.name")
    quartiers = relationship("Quartier", secondary=document_quartier, lazy="selectin",
                             order_by="Quartier.code")
    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")
    updated_by = relationship("User", foreign_keys=[updated_by_id], lazy="joined")
    unlocked_by = relationship("User", foreign_keys=[unlocked_by_id], lazy="joined")
    deadline_rows = relationship("DocumentDeadline", cascade="all, delete-orphan", passive_deletes=True,
                                 order_by="DocumentDeadline.date")

    @property
    def current(self) -> DocumentVersion | None:
        """The latest version."""
        return self.versions[-1] if self.versions else None

    @property
    def type_label(self) -> str:
        """French label of the type."""
        try:
            return DocType(self.doc_type).label
        except ValueError:
            return self.doc_type

    @property
    def status_label(self) -> str:
        """French label of the status."""
        try:
            return DocStatus(self.status).label
        except ValueError:
            return self.status

    @property
    def region_label(self) -> str:
        """Region name (with today's region beside a former one), or "National"."""
        return self.region.label if self.region is not None else "National"

    @property
    def keyword_list(self) -> list[str]:
        """Keywords as a list."""
        return [k.strip() for k in self.keywords.split(",") if k.strip()]

    @property
    def in_trash(self) -> bool:
        """True once deleted (restorable until purged)."""
        return self.deleted_at is not None


class DocumentVersion(Base):
    """One uploaded file of a document; the file is stored by its SHA-256."""

    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))
    mime_type: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str | None] = mapped_column(Text, nullable=True, deferred=True)
    text_status: Mapped[str] = mapped_column(String(10), default=TextStatus.NONE.value)
    text_reason: Mapped[str] = mapped_column(String(500), default="")
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Pages carrying text (extracted or recognised); below ``pages`` the text is partial.
    text_pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Mean word confidence of the OCR, 0–100, when some text was recognised.
    ocr_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: SHA-256 of the searchable PDF copy (text layer added by OCR) in the store, beside the original.
    ocr_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: Where the file came from: e.g. {"source": "import", "path": "..."} or a generation's provenance.
    origin: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    document: Mapped[Document] = relationship(back_populates="versions")
    created_by = relationship("User", lazy="joined")

    @property
    def text_indexed(self) -> bool:
        """True when the text is in the search index."""
        return self.text_status in INDEXED_TEXT_STATUSES

    @property
    def text_status_label(self) -> str:
        """The text status in French, as the document page, the list and ``intranet check`` say it."""
        from documents.ocr.status import text_status_label

        return text_status_label(self)


class DocumentLink(Base):
    """A typed link: ``source`` modifie / relève de / remplace / concerne ``target``."""

    __tablename__ = "document_link"
    __table_args__ = (UniqueConstraint("source_id", "target_id", "link_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    link_type: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), nullable=True
    )

    source: Mapped[Document] = relationship(foreign_keys=[source_id], lazy="joined")
    target: Mapped[Document] = relationship(foreign_keys=[target_id], lazy="joined")

    @property
    def type(self) -> LinkType:
        """The link type as an enum member."""
        return LinkType(self.link_type)


class IndexOutbox(Base):
    """A change waiting for the search indexer, written in the same transaction as the change.

    The single indexer process applies these rows in batches, so that several web workers
    never fight for the Whoosh writer lock and a killed worker loses nothing.
    """

    __tablename__ = "index_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_type: Mapped[str] = mapped_column(String(20), default="document")
    object_id: Mapped[int] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(10), default="upsert")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
