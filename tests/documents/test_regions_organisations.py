"""A référentiel filled once: the organisations CSV (export, dry run, import), then a batch for every current region."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import testkit
from documents import drafting, organisations_csv
from documents.errors import ValidationError
from documents.models import AuditEvent, Document, Organisation
from documents.storage import LocalStorage
from testkit import AMOUNTS


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def to_bytes(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(organisations_csv.COLUMNS), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def fill(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """What an admin does in the spreadsheet: addresses and representatives of today's parties."""
    for row in rows:
        if row["type"] in ("drac", "coordination_regionale") and row["region"]:
            row["adresse"] = f"{row['region']} place de la République, 34000 Montpellier"
            row["representant"] = f"Madame Dupont-{row['region']}"
            row["qualite"] = "Directrice régionale" if row["type"] == "drac" else "Présidente"
            row["telephone"] = "04 67 00 00 00"
    return rows


def test_export_then_dry_run_then_import_is_idempotent_and_audited(db_session: Any) -> None:
    admin = testkit.user(db_session, "admin")
    exported = organisations_csv.export_csv(db_session)
    rows = rows_of(exported)
    assert list(rows[0]) == list(organisations_csv.COLUMNS)
    assert len(rows) == db_session.scalar(select(func.count()).select_from(Organisation))
    # The export imported back changes nothing.
    same = organisations_csv.import_csv(db_session, exported.encode("utf-8"), actor=admin)
    assert (same.created, same.updated, same.errors) == (0, 0, [])
    filled = to_bytes(fill(rows) + [{"cle": "", "nom": "Cinéma Le Méliès", "sigle": "", "type": "partenaire",
                                     "region": "76", "adresse": "", "representant": "", "qualite": "",
                                     "email": "contact@melies.example", "telephone": ""}])
    before = organisations_csv.export_csv(db_session)
    dry = organisations_csv.import_csv(db_session, filled, actor=admin, dry_run=True)
    assert dry.dry_run and not dry.applied and dry.created == 1 and dry.updated == 2 * 38
    occ = next(c for c in dry.lines if c.key == "drac-occitanie")
    assert occ.changes["representative"] == ("", "Madame Dupont-76")
    assert dry.summary() == "Simulation : 1 création(s), 76 modification(s) prévue(s) ; rien n'a été modifié."
    db_session.flush()
    assert organisations_csv.export_csv(db_session) == before  # a dry run writes nothing
    done = organisations_csv.import_csv(db_session, filled, actor=admin)
    db_session.commit()
    assert done.applied and (done.created, done.updated) == (1, 2 * 38)
    drac = db_session.scalars(select(Organisation).where(Organisation.slug == "drac-occitanie")).one()
    assert (drac.representative, drac.phone) == ("Madame Dupont-76", "04 67 00 00 00")
    audited = db_session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "organisation.import"))
    assert audited == 1 + 2 * 38
    # Same file again: idempotent by the key, even for the line that had none.
    again = organisations_csv.import_csv(db_session, filled, actor=admin)
    assert (again.created, again.updated, again.errors) == (0, 0, [])


def test_faulty_lines_are_each_reported_and_nothing_changes(db_session: Any) -> None:
    admin = testkit.user(db_session, "admin")
    data = ("cle;nom;type;region;email;telephone\n"
            "drac-occitanie;DRAC Occitanie;drac;76;drac@culture.gouv.fr;04 67\n"
            ";Sans type;;76;;\n"
            "x;Région fausse;partenaire;99;pas-un-mail;abc\n"
            "drac-occitanie;Doublon;drac;76;;\n").encode()
    report = organisations_csv.import_csv(db_session, data, actor=admin)
    assert not report.applied
    assert [line for line, _ in report.errors] == [3, 4, 5]
    messages = " ".join(message for _, message in report.errors)
    assert "le type est obligatoire" in messages and "région « 99 » inconnue" in messages
    assert "adresse e-mail « pas-un-mail » invalide" in messages and "téléphone « abc » invalide" in messages
    assert "déjà utilisée ligne 2" in messages
    assert "rien n'a été modifié" in report.summary()
    db_session.flush()
    drac = db_session.scalars(select(Organisation).where(Organisation.slug == "drac-occitanie")).one()
    assert drac.email == ""


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "vide"),
    ("nom;type\n".encode("utf-16"), "UTF-8"),
    (b"nom;genre\nA;drac\n", "inconnues : genre"),
    (b"cle;sigle\nA;B\n", "obligatoires"),
])
def test_unreadable_files_get_a_clear_error(db_session: Any, data: bytes, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        organisations_csv.import_csv(db_session, data, actor=None)
    assert fragment in info.value.message and info.value.status == 422


def test_batch_for_all_regions_fails_cleanly_then_files_18_drafts_once_filled(
        db_session: Any, tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    drafting.load_builtin_models(db_session, store)
    national = testkit.user(db_session, "national")
    template = drafting.get_template(db_session, store, "convention-drac-coordination")
    # Out of the box the parties' addresses are empty: every region fails, and no ZIP is offered.
    empty = drafting.generate_batch(db_session, store, actor=national, template=template, year=2026,
                                    out_path=tmp_path / "vide.zip", common=dict(AMOUNTS))
    assert len(empty.outcomes) == 18 and not empty.produced
    assert empty.zip_path is None and not (tmp_path / "vide.zip").exists()
    assert all("drac.adresse" in o.errors and "coordination_regionale.representant" in o.errors
               for o in empty.skipped)
    # Filled once from one CSV, the same batch files one draft per current region.
    rows = fill(rows_of(organisations_csv.export_csv(db_session)))
    organisations_csv.import_csv(db_session, to_bytes(rows), actor=testkit.user(db_session, "admin"))
    db_session.commit()
    result = drafting.generate_batch(db_session, store, actor=national, template=template, year=2026,
                                     out_path=tmp_path / "lot.zip", common=dict(AMOUNTS))
    assert [o.status for o in result.outcomes] == ["ok"] * 18, [o.message for o in result.skipped]
    assert sorted(o.region_code for o in result.produced) == sorted(
        ["01", "02", "03", "04", "06", "11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"])
    assert result.zip_path is not None and result.zip_path.is_file()
    occitanie = db_session.get(Document, next(o.document_id for o in result.produced if o.region_code == "76"))
    assert occitanie.region_code == "76" and occitanie.status == "brouillon"


def test_batch_rows_supply_party_values_per_region(db_session: Any, tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    drafting.load_builtin_models(db_session, store)
    template = drafting.get_template(db_session, store, "convention-drac-coordination")
    fields = drafting.template_fields(db_session, template)
    data = ("region;drac.adresse;drac.representant;drac.qualite;coordination_regionale.adresse;"
            "coordination_regionale.representant;coordination_regionale.qualite\n"
            "76;Hôtel de Grave, 5 rue de la Salle-l'Évêque, 34000 Montpellier;Monsieur Martin;Directeur;"
            "1 rue A, 31000 Toulouse;Madame B;Présidente\n").encode()
    rows = drafting.parse_values_csv(data, fields)
    result = drafting.generate_batch(db_session, store, actor=testkit.user(db_session, "national"),
                                     template=template, year=2026, out_path=tmp_path / "lot.zip",
                                     region_codes=["76", "75"], rows=rows, common=dict(AMOUNTS))
    assert [(o.region_code, o.status) for o in result.outcomes] == [("76", "ok"), ("75", "invalide")]
