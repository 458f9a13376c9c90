"""Agreements' amounts and a region's timeline: validation, avenants applied, scope, CSV (SQLite + PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from documents import archive
from documents.agreements import amounts as A
from documents.agreements import timeline as T
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.locking import LockedDocument
from documents.models import AgreementAmount, AuditEvent, Document, Generation
from testkit import user

D = dt.date


def add(session: Any, title: str, *, region: str | None = "11", doc_type: str = "convention", year: int | None = 2024,
        status: str = "brouillon", **fields: Any) -> Document:
    doc = Document(title=title, doc_type=doc_type, region_code=region, year=year, status=status, keywords="",
                   notes="", **fields)
    session.add(doc)
    session.commit()
    return doc


def link(session: Any, source: Document, target: Document, kind: str = "modifie") -> None:
    archive.link_documents(session, actor=user(session, "admin"), source=source, target=target, link_type=kind)
    session.commit()


def put(session: Any, doc: Document, who: str = "admin", **values: object) -> A.AgreementAmounts:
    result = A.set_amounts(session, doc, actor=user(session, who), amounts=values)
    session.commit()
    return result


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(("typed", "expected"), [
    ("12 500,50", Decimal("12500.50")), ("12500.5", Decimal("12500.50")), ("12\u202f500,00\u00a0€", Decimal("12500.00")),
    (12500, Decimal("12500.00")), (12500.5, Decimal("12500.50")), (0.1, Decimal("0.10")), ("0", Decimal("0.00")),
    ("", None), ("   ", None), (None, None), ("999 999 999 999,99", Decimal("999999999999.99")),
])
def test_amounts_are_read_as_french_users_type_them(typed: object, expected: Decimal | None) -> None:
    assert A.parse_line_amount(typed) == expected


@pytest.mark.parametrize(("typed", "message"), [
    ("-5", "négatif"), (-1, "négatif"), ("12,345", "deux chiffres"), (12.345, "deux chiffres"),
    ("1 000 000 000 000", "trop grand"), (10**15, "trop grand"), (1e300, "trop grand"),
    ("douze", "Montant invalide"), ("12\x00", "nul"), (True, "nombre"), (float("nan"), "nombre"),
    (float("inf"), "nombre"), ([1], "nombre"), ({"a": 1}, "nombre"), ("1" * 41, "trop long"),
    (Decimal("NaN"), "nombre"),
])
def test_bad_amounts_are_refused_in_french(typed: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        A.parse_line_amount(typed)


def test_unknown_lines_and_every_bad_line_are_named() -> None:
    with pytest.raises(ValidationError) as caught:
        A.clean_amounts({"formation": "-3", "sensibilisation": "abc", "autre": "5", "x\x00": "1"})
    assert set(caught.value.errors) == {"formation", "sensibilisation", "autre", "?"}
    assert "négatif" in caught.value.errors["formation"]
    assert "Ligne inconnue" in caught.value.errors["autre"]


# --------------------------------------------------------------------------- the verb


def test_amounts_are_entered_corrected_cleared_and_audited(db_session: Any) -> None:
    doc = add(db_session, "Convention 2024")
    result = put(db_session, doc, mission_coordination="18 000", formation="4 250,50")
    assert result.values == {"mission_coordination": Decimal("18000.00"), "projets_coordination": None,
                             "formation": Decimal("4250.50"), "sensibilisation": None}
    assert result.total == Decimal("22250.50")
    rows = {r.line: r.amount_cents for r in db_session.scalars(select(AgreementAmount))}
    assert rows == {"mission_coordination": 1_800_000, "formation": 425_050}
    put(db_session, doc, formation="4 000", mission_coordination="")
    assert A.amounts_of(db_session, doc).values["formation"] == Decimal("4000.00")
    assert A.amounts_of(db_session, doc).values["mission_coordination"] is None
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "document.amounts")
                                .order_by(AuditEvent.id)).all()
    assert [e.details for e in events] == [
        {"mission_coordination": "— → 18000,00", "formation": "— → 4250,50"},
        {"mission_coordination": "18000,00 → —", "formation": "4250,50 → 4000,00"},
    ]
    assert events[0].actor_email == "admin@test.fr" and events[0].object_id == str(doc.id)
    # The same values again change nothing and write no audit line.
    put(db_session, doc, formation="4000,00")
    assert db_session.scalar(select(AuditEvent.id).where(AuditEvent.action == "document.amounts")
                             .order_by(AuditEvent.id.desc())) == events[-1].id


def test_a_refused_line_changes_nothing(db_session: Any) -> None:
    doc = add(db_session, "Convention 2024")
    put(db_session, doc, formation="100")
    with pytest.raises(ValidationError):
        A.set_amounts(db_session, doc, actor=user(db_session, "admin"),
                      amounts={"formation": "200", "sensibilisation": "-1"})
    db_session.rollback()
    assert A.amounts_of(db_session, doc).values["formation"] == Decimal("100.00")


def test_only_agreements_of_ones_region_take_amounts(db_session: Any) -> None:
    bilan = add(db_session, "Bilan 2024", doc_type="bilan")
    with pytest.raises(ValidationError, match="convention, un avenant ou un contrat"):
        put(db_session, bilan, formation="1")
    paca = add(db_session, "Convention PACA", region="93")
    with pytest.raises(PermissionDenied):
        put(db_session, paca, "idf", formation="1")
    with pytest.raises(PermissionDenied):
        put(db_session, add(db_session, "Convention IdF"), "lecteur_idf", formation="1")
    trashed = add(db_session, "Convention jetée")
    archive.trash_document(db_session, trashed, actor=user(db_session, "admin"))
    with pytest.raises(ValidationError, match="corbeille"):
        put(db_session, trashed, formation="1")
    assert db_session.scalar(select(AgreementAmount.document_id)) is None


def test_a_signed_agreement_keeps_its_known_amounts_but_takes_missing_ones(db_session: Any) -> None:
    doc = add(db_session, "Convention signée", status="signe")
    put(db_session, doc, formation="4 000")  # a line still empty may be recorded
    with pytest.raises(LockedDocument, match="verrouillé"):
        put(db_session, doc, formation="5 000")
    db_session.rollback()
    with pytest.raises(LockedDocument):
        put(db_session, doc, formation="")
    db_session.rollback()
    put(db_session, doc, formation="4000,00", sensibilisation="3 000")
    assert A.amounts_of(db_session, doc).values["sensibilisation"] == Decimal("3000.00")


def test_a_generated_agreement_shows_its_drafts_amounts_until_corrected(db_session: Any) -> None:
    doc = add(db_session, "Convention générée")
    db_session.add(Generation(document_id=doc.id, version_number=1, template_version=1, template_slug="c",
                              template_sha256="0" * 64, input_values={
                                  "montant_mission_coordination": "12 500", "montant_projets_coordination": "8 000,50",
                                  "montant_formation": "3000", "montant_sensibilisation": "pas un nombre"}))
    db_session.commit()
    amounts = A.amounts_of(db_session, doc)
    assert amounts.values == {"mission_coordination": Decimal("12500.00"), "projets_coordination": Decimal("8000.50"),
                              "formation": Decimal("3000.00"), "sensibilisation": None}
    assert [i.source for i in amounts.lines] == ["brouillon", "brouillon", "brouillon", None]
    # A form sending the draft's values back changes nothing; a correction wins over the draft.
    put(db_session, doc, mission_coordination="12 500,00", formation="3 100")
    amounts = A.amounts_of(db_session, doc)
    assert amounts.entered == {"formation": Decimal("3100.00")}
    assert amounts.total == Decimal("23600.50")
    # A later generation (new version) speaks for the document.
    db_session.add(Generation(document_id=doc.id, version_number=2, template_version=1, template_slug="c",
                              template_sha256="0" * 64, input_values={"montant_mission_coordination": "13 000"}))
    db_session.commit()
    assert A.amounts_of(db_session, doc).values["mission_coordination"] == Decimal("13000.00")
    assert A.amounts_of(db_session, doc).values["projets_coordination"] is None


# --------------------------------------------------------------------------- timeline


def test_avenants_apply_in_signature_order_line_by_line(db_session: Any) -> None:
    convention = add(db_session, "Convention 2024", signature_date=D(2024, 2, 1))
    put(db_session, convention, mission_coordination="18 000", projets_coordination="9 500", formation="4 000",
        sensibilisation="3 000")
    # Filed in the wrong order: the later-signed avenant is created first.
    late = add(db_session, "Avenant 2", doc_type="avenant", signature_date=D(2024, 10, 1))
    early = add(db_session, "Avenant 1", doc_type="avenant", effective_date=D(2024, 6, 1))
    undated = add(db_session, "Avenant 3", doc_type="avenant")
    put(db_session, late, formation="5 000")
    put(db_session, early, formation="4 500", sensibilisation="3 500")
    put(db_session, undated, projets_coordination="10 000")
    for avenant in (late, early, undated):
        link(db_session, avenant, convention)
    tl = T.region_timeline(db_session, user(db_session, "admin"), "11")
    [row] = tl.rows
    assert row.year == 2024
    [applied] = row.conventions
    assert [a.id for a in applied.avenants] == [early.id, late.id, undated.id]
    assert row.lines == {"mission_coordination": Decimal("18000.00"), "projets_coordination": Decimal("10000.00"),
                         "formation": Decimal("5000.00"), "sensibilisation": Decimal("3500.00")}
    assert row.total == Decimal("36500.00")
    assert {k: a.id for k, a in applied.changed_by.items()} == {
        "formation": late.id, "sensibilisation": early.id, "projets_coordination": undated.id}
    assert applied.lines_set_by(early) == ["sensibilisation"]
    # The convention's own amounts are untouched.
    assert A.amounts_of(db_session, convention).total == Decimal("34500.00")


def test_rows_by_year_contracts_and_loose_avenants(db_session: Any) -> None:
    contrat = add(db_session, "Contrat d'objectifs 2023-2025", doc_type="contrat_objectifs", year=2023)
    put(db_session, contrat, mission_coordination="50 000")
    c23 = add(db_session, "Convention 2023", year=2023)
    put(db_session, c23, mission_coordination="20 000")
    link(db_session, c23, contrat, "releve_de")
    c25 = add(db_session, "Convention 2025", year=2025)
    put(db_session, c25, formation="1 000")
    loose = add(db_session, "Avenant sans convention", doc_type="avenant", year=2025)
    put(db_session, loose, formation="9 999")
    lone = add(db_session, "Contrat d'objectifs 2026", doc_type="contrat_objectifs", year=2026)
    put(db_session, lone, sensibilisation="7 000")
    unknown = add(db_session, "Convention sans année", year=None)
    put(db_session, unknown, formation="1")
    rows = T.region_timeline(db_session, user(db_session, "admin"), "11").rows
    assert [r.year for r in rows] == [2023, 2025, 2026, None]
    r23, r25, r26, rnone = rows
    # A year with a convention counts the conventions, not the contrat that groups them.
    assert r23.total == Decimal("20000.00") and r23.conventions[0].parent is not None
    assert r23.conventions[0].parent.id == contrat.id and [c.agreement.id for c in r23.contracts] == [contrat.id]
    assert r25.total == Decimal("1000.00") and [a.id for a in r25.loose_avenants] == [loose.id]
    assert r26.total == Decimal("7000.00") and r26.counted[0].agreement.id == lone.id
    assert rnone.total == Decimal("1.00")


def test_a_current_region_includes_its_predecessors_and_scope_holds(db_session: Any) -> None:
    lr = add(db_session, "Convention Languedoc-Roussillon 2012", region="91", year=2012)
    mp = add(db_session, "Convention Midi-Pyrénées 2012", region="73", year=2012)
    put(db_session, lr, formation="1 000")
    put(db_session, mp, formation="2 000")
    add(db_session, "Convention Occitanie 2017", region="76", year=2017)
    add(db_session, "Convention IdF", region="11", year=2012)
    tl = T.region_timeline(db_session, user(db_session, "admin"), "76")
    assert tl.codes == ["73", "76", "91"] and tl.covered[0] == "Occitanie"
    assert [r.year for r in tl.rows] == [2012, 2017]
    assert tl.rows[0].lines["formation"] == Decimal("3000.00")
    assert {a.agreement.id for a in tl.rows[0].conventions} == {lr.id, mp.id}
    assert [r.year for r in T.region_timeline(db_session, user(db_session, "admin"), "91").rows] == [2012]
    # A regional account reads its own region only; the others do not exist for it.
    assert T.region_timeline(db_session, user(db_session, "idf"), "11").rows[0].year == 2012
    for code in ("76", "91", "99", "", "1" * 50, "1\x00"):
        with pytest.raises(NotFound):
            T.region_timeline(db_session, user(db_session, "idf"), code)
    # A trashed convention leaves the timeline.
    archive.trash_document(db_session, lr, actor=user(db_session, "admin"))
    db_session.commit()
    assert T.region_timeline(db_session, user(db_session, "admin"), "76").rows[0].lines["formation"] == \
        Decimal("2000.00")


def test_an_avenant_of_another_scope_is_not_applied(db_session: Any) -> None:
    convention = add(db_session, "Convention IdF")
    put(db_session, convention, formation="1 000")
    avenant = add(db_session, "Avenant IdF", doc_type="avenant")
    put(db_session, avenant, formation="2 000")
    link(db_session, avenant, convention)
    archive.trash_document(db_session, avenant, actor=user(db_session, "admin"))
    db_session.commit()
    row = T.region_timeline(db_session, user(db_session, "admin"), "11").rows[0]
    assert row.total == Decimal("1000.00") and row.conventions[0].avenants == []


def test_national_table_totals_and_csv(db_session: Any) -> None:
    a = add(db_session, "=HYPERLINK(\"http://x\") Convention IdF", year=2023)
    put(db_session, a, mission_coordination="12 500,50", formation="1 000")
    b = add(db_session, "Convention Midi-Pyrénées", region="73", year=2012)
    put(db_session, b, sensibilisation="700")
    c = add(db_session, "Convention Occitanie", region="76", year=2023)
    put(db_session, c, sensibilisation="300")
    table = T.national_table(db_session, user(db_session, "national"))
    assert table.all_years == [2012, 2023]
    assert table.cell("11", 2023) == Decimal("13500.50") and table.cell("76", 2012) == Decimal("700.00")
    assert table.cell("76", 2023) == Decimal("300.00") and table.cell("93", 2023) is None
    assert table.year_total(2023) == Decimal("13800.50") and table.grand_total() == Decimal("14500.50")
    assert table.region_total("76") == Decimal("1000.00")
    assert [code for code, _ in table.regions][:2] == ["01", "02"] and len(table.regions) == 18
    data = T.national_csv(table)
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Code région", "Région", "Année", "Mission de coordination régionale"]
    by_key = {(r[0], r[2]): r for r in rows[1:]}
    assert by_key[("11", "2023")][3:8] == ["12500,50", "", "1000,00", "", "13500,50"]
    # The title that looks like a formula is made plain text.
    assert by_key[("11", "2023")][8].startswith("n° ") and "'=" not in by_key[("11", "2023")][8]
    assert by_key[("", "2023")][1] == "Total" and by_key[("", "2023")][7] == "13800,50"
    assert T._cell("=1+1") == "'=1+1" and T._cell("@SUM") == "'@SUM" and T._cell("-2") == "'-2"
    for who in ("idf", "lecteur_idf"):
        with pytest.raises(PermissionDenied):
            T.national_table(db_session, user(db_session, who))
    assert T.national_table(db_session, user(db_session, "lecteur")).cell("11", 2023) == Decimal("13500.50")
