"""Reference data from the 2009 protocol: regions, organisations, quartiers."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from documents.db import Base


class Region(Base):
    """A region of the 2009 map (annex 2 code: 11, 21, …, 971) or of today's (27, 76, 01, 06…).

    A 2009 region merged in 2016 is closed (``valid_until``) and names its ``successor_code``;
    a region that kept its code is one row with today's name and its 2009 ``former_name``.
    """

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    valid_from: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    #: No database foreign key: see migration 0009 (the shipped data is checked when loaded).
    successor_code: Mapped[str | None] = mapped_column(String(8), nullable=True)
    former_name: Mapped[str] = mapped_column(String(100), default="")

    @property
    def current(self) -> bool:
        """True for a region of today's map."""
        return self.valid_until is None

    @property
    def label(self) -> str:
        """Name, with today's region beside a former one: « Languedoc-Roussillon (auj. Occitanie) »."""
        from documents.regions import region_rows  # late: the model module stays data-only

        if self.successor_code:
            successor = region_rows().get(self.successor_code)
            if successor is not None and successor.name == self.name:
                # Overseas regions kept their name and took a new code (971 → 01).
                return f"{self.name} (code {self.code} jusqu'en 2015)"
            if successor is not None:
                return f"{self.name} (auj. {successor.name})"
        return self.name


class OrganisationKind(str, enum.Enum):
    """Kinds of organisations named in the documents."""

    SIGNATAIRE = "signataire"
    COORDINATION_NATIONALE = "coordination_nationale"
    DRAC = "drac"
    COORDINATION_REGIONALE = "coordination_regionale"
    COORDINATION_LOCALE = "coordination_locale"
    PARTENAIRE = "partenaire"

    @property
    def label(self) -> str:
        """French label."""
        return ORGANISATION_KIND_LABELS[self]


ORGANISATION_KIND_LABELS = {
    OrganisationKind.SIGNATAIRE: "Signataire national",
    OrganisationKind.COORDINATION_NATIONALE: "Coordination nationale",
    OrganisationKind.DRAC: "DRAC",
    OrganisationKind.COORDINATION_REGIONALE: "Coordination régionale",
    OrganisationKind.COORDINATION_LOCALE: "Coordination locale / porteur de projet",
    OrganisationKind.PARTENAIRE: "Partenaire",
}


class Organisation(Base):
    """A signatory, the national coordination, a DRAC, a coordination, a partner."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(40))
    region_code: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("region.code"), nullable=True, index=True
    )
    address: Mapped[str] = mapped_column(Text, default="")
    representative: Mapped[str] = mapped_column(String(200), default="")
    representative_title: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    #: Last day of a historical organisation (the 2009 DRACs: 31 December 2015).
    valid_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    region = relationship("Region", lazy="joined")

    @property
    def kind_label(self) -> str:
        """French label of the kind."""
        try:
            return OrganisationKind(self.kind).label
        except ValueError:
            return self.kind


class Quartier(Base):
    """One of the 215 quartiers of the "Espoir banlieues" programme (annex 2)."""

    __tablename__ = "quartier"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(8), ForeignKey("region.code"), index=True)
    region_name: Mapped[str] = mapped_column(String(100))
    departement: Mapped[str] = mapped_column(String(100), index=True)
    communes: Mapped[str] = mapped_column(Text)
    names: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(20))

    region = relationship("Region", lazy="joined")

    @property
    def current_region_name(self) -> str:
        """Today's region when it differs from annex 2's (91 → « Occitanie », 24 → « Centre-Val de Loire »), else ""."""
        from documents.regions import current_code, region_rows  # late: the model module stays data-only

        code = current_code(self.region_code) or ""
        row, own = region_rows().get(code), region_rows().get(self.region_code)
        if row is None or (code == self.region_code and not row.former_name):
            return ""
        if own is not None and code != self.region_code and own.name == row.name:
            return ""  # 971 → 01: same region, new code
        return row.name
