"""Folder import: guessing, manifest, permissions, idempotence and resuming after a kill."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from sqlalchemy import select

import samplefiles as sf
import testkit
from documents import intake
from documents.errors import PermissionDenied, ValidationError
from documents.models import AuditEvent, Document, DocumentVersion, Organisation, Quartier
from documents.storage import LocalStorage, sha256_file

KEYS = intake.RegionKeys.of([
    ("11", "Île-de-France", "ile-de-france"), ("24", "Centre", "centre"), ("26", "Bourgogne", "bourgogne"),
    ("43", "Franche-Comté", "franche-comte"), ("93", "Provence-Alpes-Côte d'Azur", "provence-alpes-cote-d-azur"),
    ("974", "La Réunion", "la-reunion"),
])


def components(path: str, root: str = "") -> list[str]:
    return intake.path_components(PurePosixPath(path), root_name=root)


# ------------------------------------------------------------------ guesses


@pytest.mark.parametrize(("path", "expected"), [
    ("Convention DRAC 2010.docx", "convention"),
    ("conventions/2010/signée.pdf", "convention"),
    ("Avenant n°2 à la convention.docx", "avenant"),
    ("Contrat d'objectifs 2011-2013.pdf", "contrat_objectifs"),
    ("CONTRAT_D_OBJECTIFS.docx", "contrat_objectifs"),
    ("CR comité de pilotage.docx", "compte_rendu"),
    ("2011/PV-comite-regional.pdf", "compte_rendu"),
    ("Comptes rendus/réunion du 3 mars.odt", "compte_rendu"),
    ("Procès-verbal.pdf", "compte_rendu"),
    ("Bilan qualitatif de la convention.docx", "bilan"),
    ("Cahier des charges régional.docx", "cahier_des_charges"),
    ("Protocole national 2009.pdf", "protocole"),
    ("Conventions/avenant_2.docx", "avenant"),  # the file name beats the folder
    ("Divers/lettre.docx", None),
    ("Crédits/écran.docx", None),  # "cr" only as a word of its own
])
def test_guess_type(path: str, expected: str | None) -> None:
    assert intake.guess_type(components(path)) == expected


@pytest.mark.parametrize(("path", "root", "expected"), [
    ("ILE DE FRANCE/convention.docx", "", "11"),
    ("île-de-france/convention.docx", "", "11"),
    ("Convention_Ile-de-France_2010.docx", "", "11"),
    ("IDF/2010/convention.docx", "", "11"),
    ("11/convention.docx", "", "11"),
    ("Regions/Provence-Alpes-Cote d'Azur/bilan.pdf", "", "93"),
    ("PACA/bilan.pdf", "", "93"),
    ("La Réunion/bilan.pdf", "", "974"),
    ("convention.docx", "Ile-de-France", "11"),  # the imported folder's own name counts last
    ("Centre/convention.docx", "", "24"),
    ("Centre national du cinéma/convention.docx", "", None),
    ("centre social/bilan.docx", "", None),
    ("Bourgogne-Franche-Comté/bilan.docx", "", None),  # names two regions of the 2009 map
    ("PACA/Ile-de-France/bilan.docx", "", "11"),  # nearest folder wins
    ("2011/bilan.docx", "", None),
    ("Divers/convention.docx", "", None),
])
def test_guess_region(path: str, root: str, expected: str | None) -> None:
    assert intake.guess_region(components(path, root), KEYS) == expected


@pytest.mark.parametrize(("path", "expected"), [
    ("2010/convention.docx", 2010),
    ("archives 2009/2012/convention.docx", 2012),
    ("convention 2011-2013.docx", 2011),
    ("2010/convention 2012.docx", 2012),
    ("convention_1989.docx", None),
    ("1990/cr.docx", 1990),
    ("2100/cr.docx", 2100),
    ("2101/cr.docx", None),
    ("cr 20110315.docx", None),
    ("convention.docx", None),
])
def test_guess_year(path: str, expected: int | None) -> None:
    assert intake.guess_year(components(path)) == expected


def test_region_keys_resolve_code_slug_and_name() -> None:
    assert KEYS.resolve("11") == "11"
    assert KEYS.resolve("provence-alpes-cote-d-azur") == "93"
    assert KEYS.resolve("Provence-Alpes-Côte d'Azur") == "93"
    assert KEYS.resolve("Atlantide") is None


def test_title_from_name() -> None:
    assert intake.title_from_name("Convention_DRAC_2010.docx") == "Convention DRAC 2010"
    assert intake.title_from_name("../../etc/passwd.pdf") == "passwd"


# ------------------------------------------------------------------ properties


def _odt_with_meta(title: str, created: str) -> bytes:
    meta = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<office:meta><dc:title>{title}</dc:title><meta:creation-date>{created}</meta:creation-date>"
        "</office:meta></office:document-meta>"
    ).encode()
    source = zipfile.ZipFile(io.BytesIO(sf.make_odt(["Compte rendu du comité."])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, meta if info.filename == "meta.xml" else source.read(info))
    return out.getvalue()


def _pdf_with_info(title: str, created: dt.datetime) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_creation_date(created)
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "Bilan regional")
    return bytes(pdf.output())


def test_file_properties_of_docx_odt_and_pdf(tmp_path: Path) -> None:
    docx_path = sf.write_sample(tmp_path / "a.docx", sf.make_docx(
        ["Texte"], core_title="Convention DRAC – coordination régionale",
        core_created=dt.datetime(2008, 5, 2, 10, 0)))
    odt_path = sf.write_sample(tmp_path / "b.odt", _odt_with_meta("Compte rendu du comité", "2011-03-04T10:00:00"))
    pdf_path = sf.write_sample(tmp_path / "c.pdf", _pdf_with_info("Bilan 2012", dt.datetime(2013, 1, 15,
                                                                                           tzinfo=dt.UTC)))
    assert intake.file_properties(docx_path, "docx") == intake.FileProperties(
        "Convention DRAC – coordination régionale", 2008)
    assert intake.file_properties(odt_path, "odt") == intake.FileProperties("Compte rendu du comité", 2011)
    assert intake.file_properties(pdf_path, "pdf") == intake.FileProperties("Bilan 2012", 2013)


def test_file_properties_ignore_template_defaults_and_damage(tmp_path: Path) -> None:
    # python-docx's template carries an empty title and a 2013 date that says nothing about the file.
    plain = sf.write_sample(tmp_path / "plain.docx", sf.make_docx(["Texte"]))
    assert intake.file_properties(plain, "docx") == intake.FileProperties(None, None)
    broken = sf.write_sample(tmp_path / "broken.pdf", b"%PDF-1.4\nnot really\n%%EOF\n")
    assert intake.file_properties(broken, "pdf") == intake.FileProperties(None, None)


# ------------------------------------------------------------------ import


@pytest.fixture
def store(data_dir: Path) -> LocalStorage:
    return LocalStorage(data_dir / "files")


def _docs(session) -> list[Document]:
    session.expire_all()
    return list(session.scalars(select(Document).order_by(Document.id)))


def _by_path(report: intake.ImportReport) -> dict[str, intake.FileOutcome]:
    return {o.path: o for o in report.outcomes}


def build_share(root: Path) -> dict[str, bytes]:
    """A shared folder like the ones staff keep, with noise and bad files."""
    files = {
        "Ile-de-France/2010/Convention DRAC IDF.docx": sf.make_docx(["Convention entre la DRAC et la coordination."]),
        "Ile-de-France/2010/Avenant n°1.docx": sf.make_docx(["Avenant à la convention 2010."]),
        "PACA/CR comité de pilotage.pdf": _pdf_with_info("Compte rendu du comité régional PACA",
                                                         dt.datetime(2011, 6, 1, tzinfo=dt.UTC)),
        "Bretagne/bilan.odt": sf.make_odt(["Bilan qualitatif et quantitatif."]),
        "National/Protocole 2009.txt": b"Protocole national Passeurs d'images.\n",
        "National/Notes.rtf": sf.make_rtf(["Note de la coordination nationale."]),
        "divers/programme.exe": b"MZ\x90\x00" + b"\x00" * 200,
        "divers/page.pdf": sf.make_html(),
        "divers/vide.docx": b"",
        "divers/~$Convention DRAC IDF.docx": b"\x00lock",
        "divers/.DS_Store": b"\x00\x00\x00\x01Bud1",
    }
    for rel, data in files.items():
        sf.write_sample(root / rel, data)
    return files


def test_import_folder_guesses_metadata_and_reports_each_file(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    build_share(root)
    admin = testkit.user(db_session, "admin")
    report = intake.import_folder(db_session, store, root, actor=admin)
    outcomes = _by_path(report)
    assert report.counts == {"imported": 6, "duplicate": 0, "rejected": 3, "ignored": 2}

    convention = outcomes["Ile-de-France/2010/Convention DRAC IDF.docx"]
    assert (convention.doc_type, convention.region_code, convention.year) == ("convention", "11", 2010)
    assert convention.title == "Convention DRAC IDF"
    assert convention.sources == {"doc_type": "nom", "region_code": "nom", "year": "dossier", "title": "nom"}
    assert outcomes["Ile-de-France/2010/Avenant n°1.docx"].sources["region_code"] == "dossier"
    assert outcomes["Ile-de-France/2010/Avenant n°1.docx"].doc_type == "avenant"
    cr = outcomes["PACA/CR comité de pilotage.pdf"]
    assert (cr.doc_type, cr.region_code, cr.year, cr.title) == (
        "compte_rendu", "93", 2011, "Compte rendu du comité régional PACA")
    assert cr.sources["year"] == "propriétés" and cr.sources["title"] == "propriétés"
    bilan = outcomes["Bretagne/bilan.odt"]
    assert (bilan.doc_type, bilan.region_code) == ("bilan", "53")
    protocole = outcomes["National/Protocole 2009.txt"]
    assert (protocole.doc_type, protocole.region_code, protocole.year) == ("protocole", None, 2009)

    assert "Format non accepté" in outcomes["divers/programme.exe"].reason
    assert "HTML" in outcomes["divers/page.pdf"].reason
    assert "vide" in outcomes["divers/vide.docx"].reason
    assert outcomes["divers/~$Convention DRAC IDF.docx"].outcome == "ignored"
    assert outcomes["divers/.DS_Store"].outcome == "ignored"

    docs = _docs(db_session)
    assert len(docs) == 6
    assert {d.title for d in docs} >= {"Convention DRAC IDF", "Compte rendu du comité régional PACA"}
    # .txt and .rtf are stored with their text.
    txt = db_session.get(Document, protocole.document_id).current
    rtf = db_session.get(Document, outcomes["National/Notes.rtf"].document_id).current
    assert "Protocole national" in (txt.text or "") and "coordination nationale" in (rtf.text or "")
    assert txt.origin == {"source": "import", "path": "National/Protocole 2009.txt"}
    # Every stored file belongs to a version: nothing rejected was kept.
    assert set(store.keys()) == set(db_session.scalars(select(DocumentVersion.sha256)))
    uploads = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "document.upload")).all()
    assert len(uploads) == 6 and {e.actor_id for e in uploads} == {admin.id}
    summary = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "import.folder"))
    assert summary.details["imported"] == 6 and summary.details["rejected"] == 3


def test_second_run_adds_nothing_and_counts_duplicates(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    build_share(root)
    # The same bytes twice in the folder: archived once.
    sf.write_sample(root / "copie/Convention DRAC IDF (copie).docx",
                    (root / "Ile-de-France/2010/Convention DRAC IDF.docx").read_bytes())
    admin = testkit.user(db_session, "admin")
    first = intake.import_folder(db_session, store, root, actor=admin)
    assert first.counts["imported"] == 6 and first.counts["duplicate"] == 1
    files_after_first = sorted(store.keys())
    second = intake.import_folder(db_session, store, root, actor=admin)
    assert second.counts == {"imported": 0, "duplicate": 7, "rejected": 3, "ignored": 2}
    assert len(_docs(db_session)) == 6
    assert sorted(store.keys()) == files_after_first
    ids = {o.document_id for o in second.of("duplicate")}
    assert ids == {o.document_id for o in first.of("imported")}


def test_manifest_values_win_over_guesses(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    sf.write_sample(root / "PACA/2010/convention.docx", sf.make_docx(["Convention PACA"]))
    sf.write_sample(root / "PACA/2010/bilan.docx", sf.make_docx(["Bilan PACA"]))
    org = db_session.scalars(select(Organisation).order_by(Organisation.id)).first()
    quartier = db_session.scalars(select(Quartier).where(Quartier.region_code == "11")).first()
    manifest = tmp_path / "manifeste.csv"
    manifest.write_text(
        "path;titre;type;region;annee;statut;date_signature;date_effet;echeance;duree_mois;"
        "tacite_reconduction;preavis_mois;mots_cles;notes;parties;quartiers\n"
        f"PACA/2010/convention.docx;Convention DRAC Île-de-France 2011;Contrat d'objectifs;11;2011;signé;"
        f"15/01/2011;2011-02-01;2013-12-31;36;oui;3;financement, éducation à l'image;Note libre;{org.slug};"
        f"{quartier.code}\n",
        encoding="utf-8",
    )
    report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"),
                                  manifest=manifest)
    assert report.counts["imported"] == 2
    outcome = _by_path(report)["PACA/2010/convention.docx"]
    doc = db_session.get(Document, outcome.document_id)
    assert (doc.title, doc.doc_type, doc.region_code, doc.year, doc.status) == (
        "Convention DRAC Île-de-France 2011", "contrat_objectifs", "11", 2011, "signe")
    assert (doc.signature_date, doc.effective_date, doc.end_date) == (
        dt.date(2011, 1, 15), dt.date(2011, 2, 1), dt.date(2013, 12, 31))
    assert (doc.duration_months, doc.tacit_renewal, doc.notice_months) == (36, True, 3)
    assert doc.keyword_list == ["financement", "éducation à l'image"] and doc.notes == "Note libre"
    assert [p.id for p in doc.parties] == [org.id] and [q.code for q in doc.quartiers] == [quartier.code]
    assert set(outcome.sources.values()) == {"manifeste"}
    # The manifest is silent about the other file: guesses apply.
    other = db_session.get(Document, _by_path(report)["PACA/2010/bilan.docx"].document_id)
    assert (other.doc_type, other.region_code, other.year) == ("bilan", "93", 2010)


def test_manifest_problems_are_reported(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    sf.write_sample(root / "a.docx", sf.make_docx(["A"]))
    sf.write_sample(root / "b.docx", sf.make_docx(["B"]))
    manifest = root / "manifeste.csv"  # inside the folder: not imported itself
    manifest.write_text("path,statut,annee\na.docx,presque signé,deux mille\nabsent.pdf,signé,2010\n",
                        encoding="utf-8")
    report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"),
                                  manifest=manifest)
    outcomes = _by_path(report)
    assert report.counts == {"imported": 1, "duplicate": 0, "rejected": 2, "ignored": 0}
    assert "statut" in outcomes["a.docx"].reason and "annee" in outcomes["a.docx"].reason
    assert "absent du dossier" in outcomes["absent.pdf"].reason
    assert "manifeste.csv" not in outcomes
    assert [d.title for d in _docs(db_session)] == ["b"]

    bad_columns = tmp_path / "colonnes.csv"
    bad_columns.write_text("path,titre,couleur\na.docx,A,rouge\n", encoding="utf-8")
    with pytest.raises(intake.ManifestError, match="couleur"):
        intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"),
                             manifest=bad_columns)


def test_defaults_from_options_beat_guesses(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "Bretagne"
    sf.write_sample(root / "2010/convention.docx", sf.make_docx(["Convention"]))
    report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"),
                                  region="Pays de la Loire", doc_type="bilan")
    doc = db_session.get(Document, report.of("imported")[0].document_id)
    assert (doc.region_code, doc.doc_type, doc.year) == ("52", "bilan", 2010)
    with pytest.raises(ValidationError, match="Région inconnue"):
        intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"), region="Atlantide")


def test_regional_user_imports_only_into_own_region(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    sf.write_sample(root / "Ile-de-France/bilan 2010.docx", sf.make_docx(["Bilan IDF"]))
    sf.write_sample(root / "PACA/bilan 2010.docx", sf.make_docx(["Bilan PACA"]))
    sf.write_sample(root / "sans région/bilan 2011.docx", sf.make_docx(["Bilan sans région"]))
    idf = testkit.user(db_session, "idf")
    report = intake.import_folder(db_session, store, root, actor=idf)
    outcomes = _by_path(report)
    assert outcomes["Ile-de-France/bilan 2010.docx"].region_code == "11"
    assert outcomes["sans région/bilan 2011.docx"].region_code == "11"
    assert outcomes["sans région/bilan 2011.docx"].sources["region_code"] == "compte"
    assert outcomes["PACA/bilan 2010.docx"].outcome == "rejected"
    assert "région" in outcomes["PACA/bilan 2010.docx"].reason
    assert {d.region_code for d in _docs(db_session)} == {"11"}
    # Nothing of the refused file was stored.
    assert set(store.keys()) == set(db_session.scalars(select(DocumentVersion.sha256)))

    with pytest.raises(PermissionDenied):
        intake.import_folder(db_session, store, root, actor=idf, region="93")
    with pytest.raises(PermissionDenied):
        intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "lecteur"))
    assert len(_docs(db_session)) == 2


def test_symlinks_are_not_followed(app, db_session, store, tmp_path: Path) -> None:
    outside = sf.write_sample(tmp_path / "secret.txt", b"mot de passe du serveur\n")
    root = tmp_path / "partage"
    sf.write_sample(root / "ok.txt", b"Compte rendu.\n")
    (root / "lien.txt").symlink_to(outside)
    (root / "boucle").symlink_to(root, target_is_directory=True)
    report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"))
    assert report.counts == {"imported": 1, "duplicate": 0, "rejected": 1, "ignored": 0}
    assert "Lien symbolique" in _by_path(report)["lien.txt"].reason
    assert sha256_file(outside) not in set(store.keys())
