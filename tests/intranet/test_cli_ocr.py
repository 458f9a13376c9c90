"""``intranet import`` counting scans, ``intranet ocr`` and ``intranet ocr-worker --once`` through click."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update

import samplefiles as sf
import scankit
from documents.models import Document, DocumentVersion, OcrJob

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")


def share(root: Path) -> Path:
    (root / "PACA").mkdir(parents=True)
    scankit.save_pdf([scankit.scan_page(scankit.CONVENTION_LINES)], root / "PACA" / "Convention signée.pdf")
    sf.write_sample(root / "PACA" / "Bilan.docx", sf.make_docx(["Bilan tapé de l'année"]))
    return root


def test_import_counts_the_scans_queued_then_the_worker_reads_them(app, runner, db_session, tmp_path) -> None:
    root = share(tmp_path / "partage")
    result = runner.invoke(args=["import", str(root)])
    assert result.exit_code == 0, result.output
    assert ("Import terminé : 2 importé(s), 0 doublon(s), 0 refusé(s), 0 ignoré(s) ; "
            "1 en attente de reconnaissance du texte.") in result.output
    again = runner.invoke(args=["import", str(root / "PACA"), "--json"])
    assert json.loads(again.stdout)["ocr_queued"] == 0, "duplicates queue nothing"
    done = runner.invoke(args=["ocr-worker", "--once"])
    assert done.exit_code == 0, done.output
    assert "1 reconnaissance(s) traitée(s)." in done.output
    db_session.expire_all()
    scan = db_session.scalar(select(Document).where(Document.title.like("%Convention%")))
    assert scan.current.text_status == "ocr" and "Châteauroux" in scan.current.text


def test_ocr_command_queues_one_document_or_all_missing(app, runner, db_session, tmp_path) -> None:
    root = share(tmp_path / "partage")
    assert runner.invoke(args=["import", str(root), "--json"]).exit_code == 0
    scan = db_session.scalar(select(Document).where(Document.title.like("%Convention%")))
    typed = db_session.scalar(select(Document).where(Document.title.like("%Bilan%")))
    # As if archived before OCR existed: « texte extrait » of nothing, no page count, no job.
    db_session.execute(update(DocumentVersion).where(DocumentVersion.id == scan.current.id)
                       .values(text_status="ok", text_pages=None))
    db_session.execute(OcrJob.__table__.delete())
    db_session.commit()
    queued = runner.invoke(args=["ocr", "--all-missing"])
    assert queued.exit_code == 0, queued.output
    assert "1 version(s) en attente de reconnaissance." in queued.output
    db_session.expire_all()
    assert db_session.get(DocumentVersion, scan.current.id).text_status == "pending"
    assert runner.invoke(args=["ocr", "--all-missing"]).output.endswith("0 version(s) en attente de reconnaissance.\n")
    refused = runner.invoke(args=["ocr", str(typed.id)])
    assert refused.exit_code == 2
    assert "ne s'applique qu'aux PDF et aux images" in refused.output
    missing = runner.invoke(args=["ocr", "999999"])
    assert missing.exit_code == 2 and "introuvable" in missing.output
    assert runner.invoke(args=["ocr"]).exit_code == 2
    forced = runner.invoke(args=["ocr", str(scan.id), "--force"])
    assert forced.exit_code == 0 and "reconnaissance du texte en attente" in forced.output
    jobs = db_session.scalars(select(OcrJob).where(OcrJob.state == "pending")).all()
    assert [(j.version_id, j.force) for j in jobs] == [(scan.current.id, True)], "one job, now forced"
