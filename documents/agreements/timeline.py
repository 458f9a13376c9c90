"""A region's agreements year by year, avenants applied; the national table regions × years, and its CSV.

Relations are the typed links of the archive: an avenant « modifie » its convention (or its
contrat d'objectifs); a convention « relève de » the contrat d'objectifs that groups it.

Rules of a year's row:

- each convention (and contrat d'objectifs) carries its own amounts; its avenants are applied in
  signature order (signature date, else date d'effet; undated ones last, then by number): for each
  line, the last avenant that gives an amount wins (« le montant est porté à … »); a line an
  avenant leaves empty stays as it was;
- the row's amounts are the sum of its conventions' applied amounts; a year without a convention
  counts its contrats d'objectifs instead (a contrat groups conventions: counting both would count
  the same money twice);
- an avenant linked to no visible convention or contrat is listed « non rattaché » and not applied;
- an agreement whose year is unknown goes to a last row, « année non renseignée ».

A current region covers its predecessors (Occitanie includes Languedoc-Roussillon and Midi-Pyrénées):
their agreements join the same rows. Everything is read within the caller's scope.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import permissions, regions
from documents.agreements.amounts import (
    AGREEMENT_TYPES,
    LINE_KEYS,
    LINES,
    AgreementAmounts,
    amount_json,
    amounts_for,
    french_decimal,
)
from documents.archive import visible_documents
from documents.errors import NotFound, PermissionDenied
from documents.models import DocStatus, DocType, Document, DocumentLink, LinkType, Region, User

__all__ = ["Agreement", "Applied", "NationalTable", "RegionTimeline", "YearRow", "national_csv", "national_table",
           "region_timeline", "timeline_json"]

#: Years the national page shows (the most recent ones); the CSV gives every year.
PAGE_YEARS = 12
#: Longest region code accepted in an address or a command.
MAX_CODE = 8


@dataclass(frozen=True)
class Agreement:
    """The facts of one agreement the timeline needs (plain values, no ORM object)."""

    id: int
    title: str
    doc_type: str
    region_code: str | None
    year: int | None
    status: str
    signature_date: dt.date | None
    effective_date: dt.date | None
    amounts: AgreementAmounts

    @property
    def type_label(self) -> str:
        """French label of the type."""
        return DocType(self.doc_type).label

    @property
    def status_label(self) -> str:
        """French label of the status."""
        try:
            return DocStatus(self.status).label
        except ValueError:
            return self.status

    @property
    def signed(self) -> bool:
        """True once signed (or archived after signature)."""
        return self.status in (DocStatus.SIGNE.value, DocStatus.ARCHIVE.value)

    def order_key(self) -> tuple[bool, dt.date, int]:
        """Signature order: signature date, else date d'effet; undated last; then by number."""
        day = self.signature_date or self.effective_date
        return (day is None, day or dt.date.min, self.id)


@dataclass
class Applied:
    """A convention or a contrat d'objectifs with its avenants applied."""

    agreement: Agreement
    avenants: list[Agreement] = field(default_factory=list)
    lines: dict[str, Decimal | None] = field(default_factory=dict)
    #: Line key -> the avenant whose amount is in force.
    changed_by: dict[str, Agreement] = field(default_factory=dict)
    #: The contrat d'objectifs this convention « relève de », if visible.
    parent: Agreement | None = None

    @property
    def total(self) -> Decimal | None:
        """Sum of the known lines (None when none is known)."""
        return _total(self.lines)

    def lines_set_by(self, avenant: Agreement) -> list[str]:
        """Keys of the lines whose amount in force comes from ``avenant``."""
        return [key for key in LINE_KEYS if key in self.changed_by and self.changed_by[key].id == avenant.id]


@dataclass
class YearRow:
    """One year of a region: its agreements and the amounts in force on each line."""

    year: int | None
    conventions: list[Applied] = field(default_factory=list)
    contracts: list[Applied] = field(default_factory=list)
    loose_avenants: list[Agreement] = field(default_factory=list)
    lines: dict[str, Decimal | None] = field(default_factory=dict)

    @property
    def total(self) -> Decimal | None:
        """Sum of the known lines of the row."""
        return _total(self.lines)

    @property
    def counted(self) -> list[Applied]:
        """The agreements whose amounts make the row: conventions, else contrats d'objectifs."""
        return self.conventions or self.contracts

    @property
    def avenant_count(self) -> int:
        """Avenants applied in this row."""
        return sum(len(a.avenants) for a in self.conventions + self.contracts)


@dataclass
class RegionTimeline:
    """A region's rows, oldest year first."""

    code: str
    name: str
    codes: list[str]
    rows: list[YearRow]
    #: Names of the regions covered (itself first, then the regions it replaced).
    covered: list[str] = field(default_factory=list)


@dataclass
class NationalTable:
    """Regions × years: the total in force of each region and year, with the totals of rows and columns."""

    regions: list[tuple[str, str]]
    years: list[int]
    rows: dict[tuple[str, int], YearRow]
    all_years: list[int]

    def cell(self, code: str, year: int) -> Decimal | None:
        """Total of one region in one year (None: no agreement, or no amount known)."""
        row = self.rows.get((code, year))
        return row.total if row is not None else None

    def region_total(self, code: str, years: Iterable[int] | None = None) -> Decimal | None:
        """Total of one region over ``years`` (all years by default)."""
        return _sum(self.cell(code, y) for y in (self.all_years if years is None else years))

    def year_total(self, year: int) -> Decimal | None:
        """Total of every region in one year."""
        return _sum(self.cell(code, year) for code, _ in self.regions)

    def grand_total(self, years: Iterable[int] | None = None) -> Decimal | None:
        """Total of every region over ``years`` (all years by default)."""
        return _sum(self.year_total(y) for y in (self.all_years if years is None else years))


def _sum(values: Iterable[Decimal | None]) -> Decimal | None:
    known = [v for v in values if v is not None]
    return sum(known, Decimal("0.00")) if known else None


def _total(lines: dict[str, Decimal | None]) -> Decimal | None:
    return _sum(lines.values())


# --------------------------------------------------------------------------- loading


def _load(session: Session, user: User | None, codes: frozenset[str] | None) -> tuple[list[Agreement], list[
        tuple[int, int, str]]]:
    """Agreements in ``user``'s scope (and ``codes``, when given), and the links between them."""
    scoped = visible_documents(user).where(Document.doc_type.in_(AGREEMENT_TYPES), Document.region_code.is_not(None))
    if codes is not None:
        scoped = scoped.where(Document.region_code.in_(sorted(codes)))
    columns = scoped.with_only_columns(
        Document.id, Document.title, Document.doc_type, Document.region_code, Document.year, Document.status,
        Document.signature_date, Document.effective_date)
    ids = scoped.with_only_columns(Document.id)
    amounts = amounts_for(session, ids)
    agreements = [
        Agreement(id=row.id, title=row.title, doc_type=row.doc_type, region_code=row.region_code, year=row.year,
                  status=row.status, signature_date=row.signature_date, effective_date=row.effective_date,
                  amounts=amounts.get(row.id, AgreementAmounts(row.id)))
        for row in session.execute(columns.order_by(Document.id))
    ]
    links = [(s, t, k) for s, t, k in session.execute(
        select(DocumentLink.source_id, DocumentLink.target_id, DocumentLink.link_type).where(
            DocumentLink.link_type.in_([LinkType.MODIFIE.value, LinkType.RELEVE_DE.value]),
            DocumentLink.source_id.in_(ids)))]
    return agreements, links


def _rows(agreements: list[Agreement], links: list[tuple[int, int, str]]) -> list[YearRow]:
    """Group agreements into year rows, avenants applied (see the module's rules)."""
    by_id = {a.id: a for a in agreements}
    modifies: dict[int, list[Agreement]] = {}
    parent_of: dict[int, Agreement] = {}
    linked_avenants: set[int] = set()
    for source_id, target_id, kind in links:
        source, target = by_id.get(source_id), by_id.get(target_id)
        if source is None or target is None:
            continue  # the other end is outside the scope or in the trash
        if kind == LinkType.MODIFIE.value and source.doc_type == DocType.AVENANT.value \
                and target.doc_type != DocType.AVENANT.value:
            modifies.setdefault(target.id, []).append(source)
            linked_avenants.add(source.id)
        elif kind == LinkType.RELEVE_DE.value and source.doc_type == DocType.CONVENTION.value \
                and target.doc_type == DocType.CONTRAT_OBJECTIFS.value:
            parent_of.setdefault(source.id, target)
    rows: dict[int | None, YearRow] = {}

    def row(year: int | None) -> YearRow:
        return rows.setdefault(year, YearRow(year=year))

    for agreement in agreements:
        if agreement.doc_type == DocType.AVENANT.value:
            if agreement.id not in linked_avenants:
                row(agreement.year).loose_avenants.append(agreement)
            continue
        applied = _apply(agreement, sorted(modifies.get(agreement.id, []), key=Agreement.order_key))
        applied.parent = parent_of.get(agreement.id)
        year_row = row(agreement.year)
        (year_row.conventions if agreement.doc_type == DocType.CONVENTION.value else year_row.contracts).append(applied)
    for each in rows.values():
        each.lines = {key: _sum(a.lines[key] for a in each.counted) for key in LINE_KEYS}
    return [rows[y] for y in sorted(rows, key=lambda y: (y is None, y or 0))]


def _apply(agreement: Agreement, avenants: list[Agreement]) -> Applied:
    lines = agreement.amounts.values
    changed_by: dict[str, Agreement] = {}
    for avenant in avenants:
        for key, amount in avenant.amounts.values.items():
            if amount is not None:
                lines[key] = amount
                changed_by[key] = avenant
    return Applied(agreement=agreement, avenants=avenants, lines=lines, changed_by=changed_by)


# --------------------------------------------------------------------------- verbs


def _region(session: Session, code: str) -> Region:
    if not isinstance(code, str) or not code or len(code) > MAX_CODE or "\x00" in code:
        raise NotFound("Région introuvable.")
    region = session.get(Region, code)
    if region is None:
        raise NotFound("Région introuvable.")
    return region


def region_timeline(session: Session, user: User | None, code: str) -> RegionTimeline:
    """The agreements of region ``code`` (and of the regions it succeeded) year by year, in ``user``'s scope.

    NotFound for an unknown region or one ``user`` may not read (no hint that it exists).
    """
    region = _region(session, code)
    covered = regions.covered_codes(region.code)
    if not all(permissions.can_read_region(user, c) for c in covered):
        raise NotFound("Région introuvable.")
    agreements, links = _load(session, user, covered)
    names = {r.code: r.name for r in session.scalars(select(Region).where(Region.code.in_(sorted(covered))))}
    others = sorted((names.get(c, c) for c in covered if c != region.code), key=str.casefold)
    return RegionTimeline(code=region.code, name=region.name, codes=sorted(covered), rows=_rows(agreements, links),
                          covered=[region.name, *others])


def can_see_national(user: User | None) -> bool:
    """True for the accounts that see every region (administrators, national team, national lecteurs)."""
    return permissions.visible_regions(user) is None


def national_table(session: Session, user: User | None) -> NationalTable:
    """Every current region × year with agreements, the regions of 2009 counted in their region of today.

    PermissionDenied for an account bound to a region.
    """
    if not can_see_national(user):
        raise PermissionDenied("Le tableau national est réservé aux équipes nationales.")
    agreements, links = _load(session, user, None)
    grouped: dict[str, list[Agreement]] = {}
    for agreement in agreements:
        grouped.setdefault(regions.current_code(agreement.region_code) or "", []).append(agreement)
    names = {r.code: r.name for r in session.scalars(select(Region))}
    table_rows: dict[tuple[str, int], YearRow] = {}
    for code, members in grouped.items():
        for year_row in _rows(members, links):
            if year_row.year is not None:
                table_rows[(code, year_row.year)] = year_row
    current = regions.current_codes()
    shown = current + sorted(c for c in grouped if c not in current and c)
    all_years = sorted({year for _, year in table_rows})
    return NationalTable(regions=[(c, names.get(c, c)) for c in shown], years=all_years[-PAGE_YEARS:],
                         rows=table_rows, all_years=all_years)


# --------------------------------------------------------------------------- output

CSV_HEADER = ["Code région", "Région", "Année", *[line.label for line in LINES], "Total", "Conventions",
              "Avenants appliqués"]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula would run in a spreadsheet (CSV injection): make it plain text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _money(amount: Decimal | None) -> str:
    return "" if amount is None else french_decimal(amount)


def national_csv(table: NationalTable) -> bytes:
    """The national table, one line per region and year, then one « Total » line per year.

    UTF-8 with a BOM and « ; » (what French Excel expects), amounts with a decimal comma.
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for code, name in table.regions:
        for year in table.all_years:
            row = table.rows.get((code, year))
            if row is None:
                continue
            writer.writerow([_cell(v) for v in (
                code, name, year, *[_money(row.lines[k]) for k in LINE_KEYS], _money(row.total),
                " | ".join(f"n° {a.agreement.id} {a.agreement.title}" for a in row.conventions),
                " | ".join(f"n° {v.id}" for a in row.counted for v in a.avenants))])
    for year in table.all_years:
        rows = [r for (_, y), r in table.rows.items() if y == year]
        writer.writerow([_cell(v) for v in (
            "", "Total", year, *[_money(_sum(r.lines[k] for r in rows)) for k in LINE_KEYS],
            _money(table.year_total(year)), "", "")])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _day(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _lines_json(lines: dict[str, Decimal | None]) -> dict[str, str | None]:
    return {key: amount_json(lines.get(key)) for key in LINE_KEYS}


def agreement_json(agreement: Agreement) -> dict[str, Any]:
    """One agreement with its own amounts."""
    return {"id": agreement.id, "title": agreement.title, "type": agreement.doc_type,
            "region": agreement.region_code, "year": agreement.year, "status": agreement.status,
            "status_label": agreement.status_label, "signature_date": _day(agreement.signature_date),
            "effective_date": _day(agreement.effective_date), "amounts": _lines_json(agreement.amounts.values),
            "total": amount_json(agreement.amounts.total)}


def _applied_json(applied: Applied) -> dict[str, Any]:
    return {**agreement_json(applied.agreement),
            "applied": _lines_json(applied.lines), "applied_total": amount_json(applied.total),
            "changed_by": {key: a.id for key, a in applied.changed_by.items()},
            "avenants": [agreement_json(a) for a in applied.avenants],
            "parent_id": applied.parent.id if applied.parent else None}


def timeline_json(timeline: RegionTimeline) -> dict[str, Any]:
    """A region's timeline as JSON (amounts as decimal strings, « 12500.50 »)."""
    return {
        "region": {"code": timeline.code, "name": timeline.name}, "codes": timeline.codes,
        "rows": [{
            "year": r.year, "amounts": _lines_json(r.lines), "total": amount_json(r.total),
            "conventions": [_applied_json(a) for a in r.conventions],
            "contracts": [_applied_json(a) for a in r.contracts],
            "loose_avenants": [agreement_json(a) for a in r.loose_avenants],
        } for r in timeline.rows],
    }


# --------------------------------------------------------------------------- one agreement


@dataclass
class AgreementView:
    """What a document page shows of an agreement: its amounts in force, its avenants or what it modifies."""

    agreement: Agreement
    #: For a convention or a contrat d'objectifs: its amounts with its avenants applied.
    applied: Applied | None
    #: For an avenant: the agreements it modifies.
    modifies: list[Agreement]


def agreement_view(session: Session, user: User | None, document: Document) -> AgreementView:
    """An agreement's amounts as the timeline counts them (its visible avenants applied, in signature order)."""
    related = session.execute(select(DocumentLink.source_id, DocumentLink.target_id, DocumentLink.link_type).where(
        DocumentLink.link_type == LinkType.MODIFIE.value,
        (DocumentLink.target_id == document.id) | (DocumentLink.source_id == document.id))).all()
    other_ids = {s for s, _, _ in related} | {t for _, t, _ in related}
    scoped = visible_documents(user).where(Document.doc_type.in_(AGREEMENT_TYPES),
                                           Document.id.in_(sorted(other_ids | {document.id})))
    ids = scoped.with_only_columns(Document.id)
    amounts = amounts_for(session, ids)
    by_id = {
        row.id: Agreement(id=row.id, title=row.title, doc_type=row.doc_type, region_code=row.region_code,
                          year=row.year, status=row.status, signature_date=row.signature_date,
                          effective_date=row.effective_date, amounts=amounts.get(row.id, AgreementAmounts(row.id)))
        for row in session.execute(scoped.with_only_columns(
            Document.id, Document.title, Document.doc_type, Document.region_code, Document.year, Document.status,
            Document.signature_date, Document.effective_date))}
    own = by_id.get(document.id) or Agreement(
        id=document.id, title=document.title, doc_type=document.doc_type, region_code=document.region_code,
        year=document.year, status=document.status, signature_date=document.signature_date,
        effective_date=document.effective_date, amounts=amounts.get(document.id, AgreementAmounts(document.id)))
    if own.doc_type == DocType.AVENANT.value:
        targets = [by_id[t] for s, t, _ in related if s == document.id and t in by_id
                   and by_id[t].doc_type != DocType.AVENANT.value]
        return AgreementView(agreement=own, applied=None, modifies=sorted(targets, key=lambda a: a.id))
    avenants = [by_id[s] for s, t, _ in related if t == document.id and s in by_id
                and by_id[s].doc_type == DocType.AVENANT.value]
    return AgreementView(agreement=own, applied=_apply(own, sorted(avenants, key=Agreement.order_key)), modifies=[])
