"""``intranet import`` and ``intranet check`` through the real click commands."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import consistency
from documents.models import AuditEvent, Document
from documents.storage import sha256_file
from intranet.extensions import storage


def share(root: Path) -> Path:
    sf.write_sample(root / "Ile-de-France/2010/Convention DRAC.docx", sf.make_docx(["Convention IDF 2010"]))
    sf.write_sample(root / "PACA/2011/CR comité.pdf", sf.make_pdf(["Compte rendu du comité régional"]))
    sf.write_sample(root / "divers/script.sh", b"#!/bin/sh\necho\n")
    return root


def docs(db_session) -> list[Document]:
    db_session.expire_all()
    return list(db_session.scalars(select(Document).order_by(Document.id)))


def test_import_json_summary_then_idempotent_rerun(app, runner, db_session, tmp_path) -> None:
    root = share(tmp_path / "partage")
    result = runner.invoke(args=["import", str(root), "--json"])
    assert result.exit_code == 1, result.output  # one file refused
    summary = json.loads(result.stdout)
    assert summary["counts"] == {"imported": 2, "duplicate": 0, "rejected": 1, "ignored": 0}
    assert summary["rejected"][0]["path"] == "divers/script.sh"
    assert "Format non accepté" in summary["rejected"][0]["reason"]
    imported = {o["path"]: o for o in summary["imported"]}
    assert imported["PACA/2011/CR comité.pdf"]["doc_type"] == "compte_rendu"
    assert imported["PACA/2011/CR comité.pdf"]["region_code"] == "93"
    assert len(docs(db_session)) == 2
    # The default acting user is the first administrator, in the audit log.
    upload = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.upload"))
    assert upload.actor_email == "admin@test.fr"

    again = runner.invoke(args=["import", str(root), "--json"])
    assert json.loads(again.stdout)["counts"] == {"imported": 0, "duplicate": 2, "rejected": 1, "ignored": 0}
    assert len(docs(db_session)) == 2


def test_import_text_summary_and_progress_on_stderr(app, runner, db_session, tmp_path) -> None:
    root = tmp_path / "partage"
    sf.write_sample(root / "bilan 2012.docx", sf.make_docx(["Bilan"]))
    result = runner.invoke(args=["import", str(root), "--region", "bretagne", "--type", "bilan"])
    assert result.exit_code == 0, result.output
    assert "Import terminé : 1 importé(s), 0 doublon(s), 0 refusé(s), 0 ignoré(s)." in result.stdout
    assert "Import" in result.stderr and "Import terminé" not in result.stderr
    doc = docs(db_session)[0]
    assert (doc.region_code, doc.doc_type, doc.year) == ("53", "bilan", 2012)
    rerun = runner.invoke(args=["import", str(root)])
    assert "bilan 2012.docx → document" in rerun.stdout


def test_import_with_manifest_and_acting_user(app, runner, db_session, tmp_path) -> None:
    root = share(tmp_path / "partage")
    manifest = tmp_path / "manifeste.csv"
    manifest.write_text("path;titre;statut\nPACA/2011/CR comité.pdf;CR du comité PACA;signé\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(root), "--manifest", str(manifest), "--as", "paca@test.fr",
                                 "--json"])
    summary = json.loads(result.stdout)
    # A regional account imports only into its own region: the Île-de-France file is refused.
    assert summary["counts"]["imported"] == 1
    refused = {o["path"]: o["reason"] for o in summary["rejected"]}
    assert "région" in refused["Ile-de-France/2010/Convention DRAC.docx"]
    doc = docs(db_session)[0]
    assert (doc.title, doc.status, doc.region_code) == ("CR du comité PACA", "signe", "93")
    upload = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.upload"))
    assert upload.actor_email == "paca@test.fr"


def test_import_refusals_before_any_work(app, runner, db_session, tmp_path) -> None:
    root = share(tmp_path / "partage")
    unknown = runner.invoke(args=["import", str(root), "--as", "personne@test.fr"])
    assert unknown.exit_code == 2 and "aucun compte" in unknown.stderr
    other_region = runner.invoke(args=["import", str(root), "--as", "idf@test.fr", "--region", "93"])
    assert other_region.exit_code == 2 and "région" in other_region.stderr
    reader = runner.invoke(args=["import", str(root), "--as", "lecteur@test.fr"])
    assert reader.exit_code == 2 and "lecture seule" in reader.stderr
    bad_type = runner.invoke(args=["import", str(root), "--type", "roman"])
    assert bad_type.exit_code == 2 and "Type de document inconnu" in bad_type.stderr
    bad_manifest = tmp_path / "m.csv"
    bad_manifest.write_text("chemin,couleur\na,b\n", encoding="utf-8")
    manifest = runner.invoke(args=["import", str(root), "--manifest", str(bad_manifest)])
    assert manifest.exit_code == 2 and "couleur" in manifest.stderr
    assert docs(db_session) == []


def test_check_reports_then_repairs(app, runner, db_session, tmp_path) -> None:
    root = share(tmp_path / "partage")
    runner.invoke(args=["import", str(root), "--json"])
    clean = runner.invoke(args=["check"])
    assert clean.exit_code == 0 and "Aucun problème." in clean.stdout

    with app.app_context():
        store = storage()
    orphan = sf.write_sample(tmp_path / "orphelin.docx", sf.make_docx(["Jamais enregistré en base"]))
    sha = sha256_file(orphan)
    store.put_file(orphan, sha)
    old = time.time() - 3600
    os.utime(store.local_path(sha), (old, old))
    missing = docs(db_session)[0].current.sha256
    store.delete(missing)

    found = runner.invoke(args=["check", "--json"])
    assert found.exit_code == 1
    report = json.loads(found.stdout)
    assert sorted(p["kind"] for p in report["problems"]) == ["missing_file", "orphan_file"]
    assert report["remaining"] == 2

    repaired = runner.invoke(args=["check", "--repair"])
    assert repaired.exit_code == 1, "the missing file cannot be repaired"
    assert "Déplacé dans lost+found" in repaired.stdout and "1 problème(s) restant(s)." in repaired.stdout
    assert (Path(app.config["DATA_DIR"]) / consistency.LOST_AND_FOUND / sha).read_bytes() == orphan.read_bytes()
    assert not store.exists(sha)
    still = json.loads(runner.invoke(args=["check", "--json"]).stdout)
    assert [p["kind"] for p in still["problems"]] == ["missing_file"]


# ------------------------------------------------------------------ the extraction pool behind ``intranet import``

REPO = Path(__file__).resolve().parents[2]


def mixed_share(root: Path) -> Path:
    """.docx, .pdf and .txt files, and three hostile ones (zip bomb, truncated PDF, NUL bytes in a .txt)."""
    for index in range(6):
        sf.write_sample(root / f"Bretagne/{2010 + index}/Convention {index}.docx",
                        sf.make_docx([f"Convention régionale numéro {index}."]))
        sf.write_sample(root / f"Bretagne/{2010 + index}/Bilan {index}.pdf", sf.make_pdf([f"Bilan numéro {index}."]))
        sf.write_sample(root / f"Bretagne/{2010 + index}/Notes {index}.txt", f"Notes numéro {index}.".encode())
    sf.write_sample(root / "Bretagne/piégés/bombe.docx", sf.make_zip_bomb("ratio"))
    sf.write_sample(root / "Bretagne/piégés/coupé.pdf", sf.make_truncated_pdf())
    sf.write_sample(root / "Bretagne/piégés/nuls.txt", b"Notes\0du\0comit\xc3\xa9")
    return root


def check_mixed_import(summary: dict, db_session) -> None:
    assert summary["counts"] == {"imported": 18, "duplicate": 0, "rejected": 3, "ignored": 0}
    assert {o["path"] for o in summary["rejected"]} == {
        "Bretagne/piégés/bombe.docx", "Bretagne/piégés/coupé.pdf", "Bretagne/piégés/nuls.txt"}
    assert all(o["reason"] for o in summary["rejected"])
    texts = {d.current.filename: d.current.text for d in docs(db_session)}
    assert texts["Convention 3.docx"] == "Convention régionale numéro 3."
    assert "Bilan numéro 4." in texts["Bilan 4.pdf"]
    assert texts["Notes 5.txt"] == "Notes numéro 5."
    assert all(d.current.text_status == "ok" for d in docs(db_session))


def test_import_of_a_mixed_folder_through_the_worker_pool(app, runner, db_session, tmp_path) -> None:
    from testkit import children_of

    before = children_of(os.getpid())
    result = runner.invoke(args=["import", str(mixed_share(tmp_path / "partage")), "--json"])
    assert result.exit_code == 1, result.output  # 1: some files were refused
    check_mixed_import(json.loads(result.stdout), db_session)
    assert children_of(os.getpid()) <= before, "the command stops its extraction workers"


def test_the_real_command_imports_a_mixed_folder_and_leaves_no_worker(app, db_session, database_url, data_dir,
                                                                       tmp_path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "INTRANET_DATA_DIR": str(data_dir), "DATABASE_URL": database_url,
           "INTRANET_EXTRACTION_WORKERS": "2", "INTRANET_EXTRACTION_MAX_FILES": "4"}
    from testkit import alive, children_of

    out, err = tmp_path / "out.json", tmp_path / "err.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        command = subprocess.Popen([str(Path(sys.executable).with_name("intranet")), "import",
                                    str(mixed_share(tmp_path / "partage")), "--json"],
                                   env=env, stdout=stdout, stderr=stderr, text=True, cwd=REPO)
        # The command's own extraction workers, seen while it runs (other tests' workers are not its children).
        workers: set[int] = set()
        deadline = time.monotonic() + 300
        while command.poll() is None and time.monotonic() < deadline:
            workers |= children_of(command.pid)
            time.sleep(0.05)
        returncode = command.wait(timeout=5)
    assert returncode == 1, err.read_text()
    check_mixed_import(json.loads(out.read_text()), db_session)
    assert workers, "the command extracted through its pool of workers"
    time.sleep(0.2)
    assert [pid for pid in workers if alive(pid)] == [], "no extraction worker outlives the command"


def test_extraction_settings_are_checked() -> None:
    from intranet.config import ConfigError, _extraction_settings

    settings = _extraction_settings({"INTRANET_EXTRACTION_WORKERS": "3", "INTRANET_EXTRACTION_MAX_FILES": "50"})
    assert (settings.size, settings.max_files) == (3, 50)
    assert _extraction_settings({}).size == (os.cpu_count() or 1)
    for env, message in [
        ({"INTRANET_EXTRACTION_WORKERS": "beaucoup"}, "INTRANET_EXTRACTION_WORKERS doit être un nombre entier"),
        ({"INTRANET_EXTRACTION_MAX_FILES": "0"}, "INTRANET_EXTRACTION_MAX_FILES doit être compris entre 1 et 1000"),
        ({"INTRANET_EXTRACTION_WORKERS": "99999999999999999999"}, "compris entre 0 et 1000"),
    ]:
        with pytest.raises(ConfigError, match=message):
            _extraction_settings(env)
