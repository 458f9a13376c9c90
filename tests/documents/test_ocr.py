"""OCR of scans: truthful statuses, the queue and its worker, the searchable copy, images and their bombs.

The scans are drawn in the tests (DejaVu, 300 dpi, tilted, noisy) and read by the real
OCRmyPDF and Tesseract with its French model; nothing is mocked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import delete, select, update

import scankit
import testkit
from documents import archive, consistency, indexer, listing
from documents.filetypes import UploadRejected, check_upload
from documents.models import Document, DocumentVersion, IndexOutbox, OcrJob
from documents.ocr import queue
from documents.ocr.worker import OcrSettings, process_one
from documents.search import SearchScope, search
from documents.storage import LocalStorage

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")


@pytest.fixture
def store(data_dir: Path) -> LocalStorage:
    return LocalStorage(data_dir / "files")


@pytest.fixture
def factory(app: Any) -> Any:
    return app.extensions["db_factory"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file(session: Any, store: LocalStorage, path: Path, title: str = "Convention scannée") -> Document:
    """Archive ``path`` and commit, as the request that uploads it does (the worker reads it in its own session)."""
    doc = archive.archive_document(session, store, actor=testkit.user(session, "admin"), path=path,
                                   filename=path.name, meta=archive.Metadata(title=title, region_code="11"))
    session.commit()
    return doc


def scan_pdf(tmp_path: Path) -> Path:
    return scankit.save_pdf([scankit.scan_page(scankit.CONVENTION_LINES)], tmp_path / "convention scannée.pdf")


def found(root: Path, query: str) -> set[str]:
    index = indexer.ensure_index(root)
    try:
        return {hit.id for hit in search(index, query, scope=SearchScope.all(), per_page=50).hits}
    finally:
        index.close()


def no_text_ids(session: Any) -> set[int]:
    return set(session.scalars(select(Document.id).where(listing.current_version_has_no_text())))


# --------------------------------------------------------------------------- truthful status at upload


def test_image_only_pdf_is_never_text_indexed_and_waits_for_ocr(db_session, store, tmp_path) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    version = doc.current
    assert (version.text_status, version.pages, version.text_pages) == ("pending", 1, 0)
    assert not version.text_indexed
    assert version.text_status_label == "Reconnaissance du texte en attente"
    assert doc.id in no_text_ids(db_session), "« Sans texte indexé » lists the scan"
    jobs = db_session.scalars(select(OcrJob)).all()
    assert [(j.version_id, j.state, j.attempts) for j in jobs] == [(version.id, "pending", 0)]


def test_typed_pdf_is_extracted_without_ocr(db_session, store, tmp_path) -> None:
    import samplefiles as sf

    path = sf.write_sample(tmp_path / "tapée.pdf", sf.make_pdf(["Convention tapée à Lyon", "Annexe financière"]))
    doc = file(db_session, store, path)
    assert (doc.current.text_status, doc.current.text_pages, doc.current.text_status_label) == ("ok", 2, "Texte extrait")
    assert doc.id not in no_text_ids(db_session)
    assert db_session.scalars(select(OcrJob)).all() == []


# --------------------------------------------------------------------------- the worker and its result


def test_worker_reads_a_scan_keeps_the_original_and_the_index_finds_its_words(
        app, db_session, store, factory, data_dir, tmp_path) -> None:
    path = scan_pdf(tmp_path)
    original = sha(path)
    doc = file(db_session, store, path)
    assert process_one(factory, store, OcrSettings()) is True
    assert process_one(factory, store, OcrSettings()) is False, "the queue is empty"
    db_session.expire_all()
    version = db_session.get(DocumentVersion, doc.current.id)
    assert version.text_status == "ocr" and version.text_indexed
    assert version.ocr_confidence is not None and version.ocr_confidence > 70
    assert version.text_status_label.startswith("Texte reconnu (OCR), confiance ")
    assert "médiathèque" in version.text and "Châteauroux" in version.text
    # The original is byte-identical; the copy is another file of the store, with a text layer.
    assert version.sha256 == original == sha(store.local_path(version.sha256))
    assert version.ocr_sha256 and version.ocr_sha256 != original
    copy_text = PdfReader(store.local_path(version.ocr_sha256)).pages[0].extract_text()
    assert "Orléans" in copy_text
    assert db_session.scalar(select(OcrJob.state)) == "done"
    assert doc.id not in no_text_ids(db_session)
    # The text reached the outbox in the job's transaction: the indexer makes it searchable.
    assert db_session.scalar(select(IndexOutbox.id).where(IndexOutbox.object_id == doc.id)) is not None
    root = tmp_path / "index"
    indexer.run_indexer(factory, root, once=True)
    entry = f"document:{doc.id}"
    assert entry in found(root, "médiathèque") and entry in found(root, "mediatheque")
    assert entry in found(root, "Chateauroux")
    # `intranet check` counts it as the list shows it, and the copy is no orphan file.
    report = consistency.run_checks(db_session, store, data_dir=data_dir, checkers=[
        consistency.check_version_files, consistency.check_orphan_files, consistency.check_text_recognition])
    assert report.ok, [p.message for p in report.problems]
    assert report.stats["texte(s) reconnu(s) par OCR"] == 1


def test_mixed_pdf_keeps_its_typed_pages_and_gains_the_scanned_one(app, db_session, store, factory,
                                                                   tmp_path) -> None:
    typed = ["Article 1 : objet de la convention de partenariat.", "Article 2 : durée de trois années."]
    signature = scankit.scan_page(["Fait à Orléans, le 3 mars", "Signé : la présidente"], seed=11)
    path = scankit.save_mixed_pdf(typed, signature, tmp_path / "convention mixte.pdf")
    doc = file(db_session, store, path)
    version = doc.current
    # Before OCR the typed pages are already indexed, the status says the rest is waiting.
    assert (version.text_status, version.pages, version.text_pages) == ("pending", 3, 2)
    assert "durée de trois années" in version.text
    assert process_one(factory, store) is True
    db_session.expire_all()
    version = db_session.get(DocumentVersion, version.id)
    assert (version.text_status, version.pages, version.text_pages) == ("ocr", 3, 3)
    assert "durée de trois années" in version.text and "présidente" in version.text
    copy = PdfReader(store.local_path(version.ocr_sha256))
    assert "objet de la convention de partenariat" in copy.pages[0].extract_text()
    assert "durée de trois années" in copy.pages[1].extract_text()
    assert "Orléans" in copy.pages[2].extract_text()


def test_jpeg_and_multipage_tiff_are_documents_with_a_searchable_copy(app, db_session, store, factory,
                                                                      tmp_path) -> None:
    first = scankit.scan_page(scankit.CONVENTION_LINES)
    second = scankit.scan_page(["Annexe : procès-verbal du comité", "régional de Bourgogne."], seed=5, angle=-0.8)
    jpeg = file(db_session, store, scankit.save_jpeg(first, tmp_path / "photo.jpg"), "Photo")
    tiff = file(db_session, store, scankit.save_tiff([first, second], tmp_path / "lot.tiff"), "Lot numérisé")
    assert (jpeg.current.kind, jpeg.current.text_status, jpeg.current.pages) == ("jpeg", "pending", 1)
    assert (tiff.current.kind, tiff.current.text_status, tiff.current.pages) == ("tiff", "pending", 2)
    assert process_one(factory, store) and process_one(factory, store)
    db_session.expire_all()
    for doc_id, pages, word in ((jpeg.id, 1, "médiathèque"), (tiff.id, 2, "procès-verbal")):
        version = db_session.get(Document, doc_id).current
        assert (version.text_status, version.pages, version.text_pages) == ("ocr", pages, pages)
        assert word in version.text
        assert len(PdfReader(store.local_path(version.ocr_sha256)).pages) == pages


def test_blank_pages_make_a_partial_text_and_a_blank_scan_has_no_text(app, db_session, store, factory,
                                                                      tmp_path) -> None:
    blank = scankit.scan_page([], noise=0.0005)
    half = file(db_session, store, scankit.save_pdf([scankit.scan_page(scankit.CONVENTION_LINES), blank],
                                                    tmp_path / "recto seul.pdf"), "Recto seul")
    empty = file(db_session, store, scankit.save_pdf([blank], tmp_path / "page blanche.pdf"), "Page blanche")
    assert process_one(factory, store) and process_one(factory, store)
    db_session.expire_all()
    half_version = db_session.get(Document, half.id).current
    assert (half_version.text_status, half_version.pages, half_version.text_pages) == ("partial", 2, 1)
    assert half_version.text_status_label == "Texte partiel (1 page sur 2)"
    assert "médiathèque" in half_version.text
    empty_version = db_session.get(Document, empty.id).current
    assert (empty_version.text_status, empty_version.text_status_label) == ("empty", "Aucun texte")
    assert empty_version.text_reason == "Aucun texte reconnu sur 1 page"
    assert no_text_ids(db_session) == {half.id, empty.id}


def test_admin_downloads_the_copy_and_reruns_the_recognition(app, db_session, store, factory, auth, client,
                                                            tmp_path) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    assert process_one(factory, store)
    auth.login("admin")
    page = client.get(f"/documents/{doc.id}")
    html = page.get_data(as_text=True)
    assert "Télécharger la copie avec texte" in html and "Texte reconnu (OCR), confiance" in html
    assert "Relancer la reconnaissance du texte" in html
    copy = client.get(f"/documents/{doc.id}/versions/1/copie-avec-texte")
    assert copy.status_code == 200 and copy.mimetype == "application/pdf"
    assert "avec texte" in copy.headers["Content-Disposition"]
    assert "Châteauroux" in PdfReader(io.BytesIO(copy.data)).pages[0].extract_text()
    copy.close()
    rerun = client.post(f"/documents/{doc.id}/reconnaissance", data={"csrf_token": auth.token(f"/documents/{doc.id}")})
    assert rerun.status_code == 302
    db_session.expire_all()
    assert db_session.get(DocumentVersion, doc.current.id).text_status == "pending"
    assert db_session.scalar(select(OcrJob.force).where(OcrJob.state == "pending")) is False
    from intranet.api.documents import version_json

    with app.test_request_context():
        payload = version_json(doc, db_session.get(DocumentVersion, doc.current.id))
    assert (payload["text_status"], payload["text_label"], payload["has_text_copy"]) == (
        "pending", "Reconnaissance du texte en attente", True)


def test_a_writer_cannot_rerun_the_recognition(app, db_session, store, auth, client, tmp_path) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    auth.login("idf")
    answer = client.post(f"/documents/{doc.id}/reconnaissance", data={"csrf_token": auth.token("/")})
    assert answer.status_code == 403


# --------------------------------------------------------------------------- the queue


def test_claim_is_exclusive_and_an_expired_lease_is_claimed_again(db_session, store, factory, tmp_path) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    first, second = factory(), factory()
    try:
        job = queue.claim(first, "worker-a", lease_s=60)
        assert job is not None and (job.state, job.attempts, job.worker) == ("running", 1, "worker-a")
        first.commit()
        assert queue.claim(second, "worker-b", lease_s=60) is None, "a leased job is not taken twice"
        second.rollback()
        # worker-a was killed: its lease runs out, worker-b takes the job over.
        second.execute(update(OcrJob).values(lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        second.commit()
        again = queue.claim(second, "worker-b", lease_s=60)
        assert again is not None and (again.id, again.attempts, again.worker) == (job.id, 2, "worker-b")
        second.commit()
        assert queue.renew_lease(first, job.id, "worker-a") is False, "the old worker lost its lease"
        first.rollback()
    finally:
        first.close()
        second.close()
    db_session.expire_all()
    assert db_session.get(DocumentVersion, doc.current.id).text_status == "running"


def test_attempts_are_bounded_then_the_job_fails_with_its_reason(db_session, store, factory, tmp_path) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    session = factory()
    try:
        for attempt in range(1, queue.MAX_ATTEMPTS + 1):
            job = queue.claim(session, "w", lease_s=60)
            assert job is not None and job.attempts == attempt
            queue.fail(session, job, "Reconnaissance interrompue après 900 s", retry=True)
            session.commit()
        assert queue.claim(session, "w") is None
    finally:
        session.close()
    db_session.expire_all()
    version = db_session.get(DocumentVersion, doc.current.id)
    assert version.text_status == "failed"
    assert version.text_reason == "Échec de la reconnaissance du texte : Reconnaissance interrompue après 900 s"
    assert doc.id in no_text_ids(db_session)


def test_a_refused_scan_fails_at_once_without_retrying(db_session, store, factory, tmp_path) -> None:
    doc = file(db_session, store, scankit.save_pdf([scankit.scan_page(["Page"], seed=n) for n in range(3)],
                                                   tmp_path / "trois pages.pdf"))
    assert process_one(factory, store, OcrSettings(max_pages=2))
    db_session.expire_all()
    job = db_session.scalar(select(OcrJob))
    assert (job.state, job.attempts) == ("failed", 1)
    assert db_session.get(DocumentVersion, doc.current.id).text_reason == (
        "Échec de la reconnaissance du texte : Document de 3 pages : la reconnaissance s'arrête à 2 pages")


@pytest.mark.parametrize(("settings", "reason"), [
    (OcrSettings(timeout=1), "Reconnaissance interrompue après 1 s"),
    (OcrSettings(memory_mb=40), "Reconnaissance abandonnée : le document demande plus de 40 Mo de mémoire"),
])
def test_time_and_memory_bounds_fail_the_attempt_not_the_worker(db_session, store, factory, tmp_path,
                                                                settings, reason) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    started = time.monotonic()
    assert process_one(factory, store, settings) is True
    assert time.monotonic() - started < 15
    db_session.expire_all()
    job = db_session.scalar(select(OcrJob))
    # Worth another try (the machine may have been busy): back in the queue, with the reason kept.
    assert (job.state, job.attempts, job.error) == ("pending", 1, reason)
    assert db_session.get(DocumentVersion, doc.current.id).text_status == "pending"


def test_check_counts_waiting_scans_and_requeues_one_without_a_job(db_session, store, data_dir,
                                                                   tmp_path) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    run = lambda repair: consistency.run_checks(  # noqa: E731
        db_session, store, data_dir=data_dir, repair=repair, checkers=[consistency.check_text_recognition])
    report = run(False)
    assert report.ok and report.stats == {"en attente de reconnaissance": 1}
    db_session.execute(delete(OcrJob))
    db_session.commit()
    report = run(False)
    assert [p.kind for p in report.problems] == ["ocr_not_queued"] and not report.ok
    assert report.problems[0].message == (f"Le document {doc.id} (version 1) attend une reconnaissance du texte "
                                          "qu'aucune tâche ne fera.")
    repaired = run(True)
    assert repaired.ok and repaired.problems[0].repaired
    assert db_session.scalar(select(OcrJob.state)) == "pending"


# --------------------------------------------------------------------------- image checks


def test_pixel_bomb_and_fake_images_are_refused_at_upload(tmp_path) -> None:
    with pytest.raises(UploadRejected) as bomb:
        check_upload(scankit.png_bomb(), "scan.png")
    assert bomb.value.code == "pixel_bomb" and bomb.value.status == 400
    assert bomb.value.message == "Image refusée : « bombe » de décompression (dimensions démesurées)."
    with pytest.raises(UploadRejected) as large:
        check_upload(scankit.png_bomb(10_000, 9_000), "scan.png")
    assert large.value.code == "pixel_bomb"
    assert "10000 × 9000 pixels" in large.value.message and "maximum 80 millions de pixels" in large.value.message
    assert check_upload(scankit.png_bomb(2_480, 3_508), "a4.png").kind == "png", "an A4 page at 300 dpi passes"
    with pytest.raises(UploadRejected) as fake:
        check_upload(b"Ceci n'est pas une image.\n", "photo.jpg")
    assert fake.value.code == "mismatch"
    assert "c'est en réalité un fichier texte" in fake.value.message
    with pytest.raises(UploadRejected) as cut:
        check_upload(scankit.png_bomb(800, 600)[:20], "coupée.png")
    assert cut.value.code == "truncated"


def test_pixel_bomb_upload_in_the_browser_gets_a_clear_message(app, auth, client) -> None:
    auth.login("admin")
    page = client.post("/documents/nouveau", data={
        "csrf_token": auth.token("/documents/nouveau"), "title": "Bombe", "doc_type": "autre",
        "region": "11", "status": "brouillon",
        "files": [(io.BytesIO(scankit.png_bomb()), "bombe.png")]}, content_type="multipart/form-data")
    assert 400 <= page.status_code < 500
    assert "Image refusée" in page.get_data(as_text=True)


# --------------------------------------------------------------------------- the real worker process


def _worker(database_url: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DATABASE_URL=database_url, INTRANET_DATA_DIR=str(data_dir), INTRANET_OCR_LEASE="3",
               INTRANET_OCR_INTERVAL="0.2")
    with log.open("ab") as out:
        return subprocess.Popen([str(Path(sys.executable).with_name("intranet")), "ocr-worker"], env=env, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)


def _wait_for(session: Any, condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_job_whose_worker_is_killed_is_done_after_a_restart(app, db_session, store, database_url, data_dir,
                                                             tmp_path) -> None:
    doc = file(db_session, store, scan_pdf(tmp_path))
    log = tmp_path / "worker.log"
    first = _worker(database_url, data_dir, log)
    try:
        _wait_for(db_session, lambda: db_session.scalar(select(OcrJob.state)) == "running", 60, "the claim")
        os.kill(first.pid, signal.SIGKILL)  # mid-job: no chance to clean up or release the lease
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    job = db_session.scalar(select(OcrJob))
    assert (job.state, job.attempts) == ("running", 1), "the killed worker left its job behind"
    second = _worker(database_url, data_dir, log)
    try:
        _wait_for(db_session, lambda: db_session.scalar(select(OcrJob.state)) == "done", 120, "the job to finish")
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, log.read_text("utf-8", "replace")
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()
    job = db_session.scalar(select(OcrJob))
    assert job.attempts == 2
    version = db_session.get(DocumentVersion, doc.current.id)
    assert version.text_status == "ocr" and "médiathèque" in version.text


def test_languages_come_from_the_settings_and_bad_values_are_refused(tmp_path) -> None:
    from intranet.config import ConfigError, load_config

    env = {"INTRANET_DATA_DIR": str(tmp_path)}
    assert load_config(env)["OCR_SETTINGS"].languages == "fra"
    settings = load_config({**env, "INTRANET_OCR_LANGUAGES": "fra+eng", "INTRANET_OCR_MAX_PAGES": "50"})["OCR_SETTINGS"]
    assert (settings.languages, settings.max_pages) == ("fra+eng", 50)
    with pytest.raises(ConfigError, match="Langues de reconnaissance invalides : « fra;rm -rf »"):
        load_config({**env, "INTRANET_OCR_LANGUAGES": "fra;rm -rf"})
