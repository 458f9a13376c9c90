"""Thumbnails: drawing (real files), the queue, the scoped route and the backfill command."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import delete, select

import samplefiles as sf
import testkit
from documents.archive import Metadata, archive_document
from documents.models import ThumbnailJob
from documents.storage import LocalStorage
from documents.thumbnails import queue
from documents.thumbnails.render import WIDTH, RenderSettings, ThumbnailError, make_thumbnail, thumbnail_path
from documents.thumbnails.worker import ThumbnailSettings, process_one

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) absent")


def _png(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


@needs_poppler
def test_a_pdf_first_page_is_drawn_small(tmp_path: Path) -> None:
    source = sf.write_sample(tmp_path / "a.pdf", sf.make_pdf(["Première page du bilan", "Deuxième page"]))
    target = tmp_path / "out" / "a.png"
    make_thumbnail(source, "pdf", target)
    image = _png(target)
    assert image.format == "PNG" and image.width == WIDTH and 200 < image.height <= 320
    assert image.convert("L").getextrema()[0] < 220  # ink of the text, not a blank page


def test_a_scan_is_drawn_and_a_tall_one_cropped(tmp_path: Path) -> None:
    tall = Image.new("RGB", (400, 4000), "white")
    tall.paste((0, 0, 0), (0, 0, 400, 100))
    buffer = io.BytesIO()
    tall.save(buffer, "PNG")
    source = sf.write_sample(tmp_path / "scan.png", buffer.getvalue())
    make_thumbnail(source, "png", tmp_path / "t.png")
    image = _png(tmp_path / "t.png")
    assert image.size == (WIDTH, 320) and image.getpixel((5, 2)) == (0, 0, 0)


@needs_poppler
@pytest.mark.parametrize("kind,payload", [("pdf", b"%PDF-1.4\nnot really a pdf"), ("png", b"\x89PNG\r\n\x1a\nbroken")])
def test_a_broken_file_fails_cleanly_and_stores_nothing(tmp_path: Path, kind: str, payload: bytes) -> None:
    source = sf.write_sample(tmp_path / f"bad.{kind}", payload)
    target = tmp_path / "out" / "bad.png"
    with pytest.raises(ThumbnailError) as caught:
        make_thumbnail(source, kind, target)
    assert "impossible" in caught.value.reason or "rien" in caught.value.reason
    assert not target.exists()


@needs_poppler
def test_the_drawing_is_bounded_in_time(tmp_path: Path) -> None:
    source = sf.write_sample(tmp_path / "long.pdf", sf.make_pdf(["x"]))
    with pytest.raises(ThumbnailError) as caught:
        make_thumbnail(source, "pdf", tmp_path / "t.png", RenderSettings(timeout=0.001))
    assert "interrompue" in caught.value.reason


def test_a_kind_without_thumbnail_is_refused(tmp_path: Path) -> None:
    source = sf.write_sample(tmp_path / "a.txt", b"texte")
    with pytest.raises(ThumbnailError):
        make_thumbnail(source, "txt", tmp_path / "t.png")
    with pytest.raises(ValueError):
        thumbnail_path(tmp_path, "../../etc/passwd")


def _archive(session: Any, data_dir: Path, tmp_path: Path, name: str, payload: bytes, region: str | None) -> Any:
    path = sf.write_sample(tmp_path / "in" / name, payload)
    doc = archive_document(session, LocalStorage(data_dir / "files"), actor=testkit.user(session, "admin"),
                           path=path, filename=name, meta=Metadata(title=name, region_code=region))
    session.commit()
    return doc


@needs_poppler
def test_archiving_queues_the_file_and_the_worker_draws_it(app: Any, db_session: Any, data_dir: Path,
                                                           tmp_path: Path) -> None:
    doc = _archive(db_session, data_dir, tmp_path, "bilan.pdf", sf.make_pdf(["Bilan 2024"]), "11")
    job = db_session.scalar(select(ThumbnailJob).where(ThumbnailJob.sha256 == doc.current.sha256))
    assert job is not None and job.state == "pending" and job.kind == "pdf"
    factory = app.extensions["db_factory"]
    folder = data_dir / "thumbnails"
    assert process_one(factory, LocalStorage(data_dir / "files"), folder, ThumbnailSettings()) is True
    assert process_one(factory, LocalStorage(data_dir / "files"), folder, ThumbnailSettings()) is False
    db_session.expire_all()
    assert db_session.get(ThumbnailJob, job.id).state == "done"
    assert thumbnail_path(folder, doc.current.sha256).is_file()


def test_the_sweep_queues_current_files_without_a_job_only(app: Any, db_session: Any, data_dir: Path,
                                                          tmp_path: Path) -> None:
    doc = _archive(db_session, data_dir, tmp_path, "c.docx", sf.make_docx(["Convention"]), "11")
    _archive(db_session, data_dir, tmp_path, "n.txt", "Notes de réunion".encode(), "11")
    db_session.execute(delete(ThumbnailJob))
    db_session.commit()
    assert queue.sweep(db_session) == 1  # the .txt keeps its icon
    assert queue.sweep(db_session) == 0
    db_session.commit()
    [job] = db_session.scalars(select(ThumbnailJob)).all()
    assert job.sha256 == doc.current.sha256 and job.kind == "docx"


def test_a_failed_drawing_is_recorded_with_its_reason(app: Any, db_session: Any, data_dir: Path,
                                                     tmp_path: Path) -> None:
    doc = _archive(db_session, data_dir, tmp_path, "scan.png", _tiny_png(), "11")
    # The stored file is damaged after the upload check: the worker fails the job, and lives on.
    LocalStorage(data_dir / "files").local_path(doc.current.sha256).write_bytes(b"\x89PNG\r\n\x1a\ncasse")
    assert process_one(app.extensions["db_factory"], LocalStorage(data_dir / "files"), data_dir / "thumbnails")
    db_session.expire_all()
    job = db_session.scalar(select(ThumbnailJob))
    assert job.state == "failed" and "impossible" in job.error
    assert not thumbnail_path(data_dir / "thumbnails", doc.current.sha256).exists()


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (20, 40, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_the_route_serves_the_icon_then_the_thumbnail_with_the_documents_permission(
        app: Any, db_session: Any, data_dir: Path, tmp_path: Path) -> None:
    doc = _archive(db_session, data_dir, tmp_path, "scan.png", _tiny_png(), "11")
    admin = testkit.login_client(app, "admin")
    before = admin.get(f"/documents/{doc.id}/vignette")
    assert before.status_code == 200 and before.mimetype == "image/svg+xml"
    assert "private" in before.headers["Cache-Control"] and "max-age=30" in before.headers["Cache-Control"]
    before.close()
    assert process_one(app.extensions["db_factory"], LocalStorage(data_dir / "files"), data_dir / "thumbnails")
    after = admin.get(f"/documents/{doc.id}/vignette?v={doc.current.sha256[:16]}")
    assert after.status_code == 200 and after.mimetype == "image/png"
    assert "max-age=86400" in after.headers["Cache-Control"] and "private" in after.headers["Cache-Control"]
    assert Image.open(io.BytesIO(after.data)).width == WIDTH
    after.close()
    allowed = testkit.login_client(app, "idf").get(f"/documents/{doc.id}/vignette")
    assert allowed.status_code == 200 and allowed.mimetype == "image/png"
    allowed.close()
    denied = testkit.login_client(app, "paca").get(f"/documents/{doc.id}/vignette")
    assert denied.status_code == 404 and denied.mimetype != "image/png"
    assert app.test_client().get(f"/documents/{doc.id}/vignette").status_code in (302, 401)
    assert admin.get("/documents/99999999999999/vignette").status_code == 404


def test_the_backfill_command_queues_and_draws(app: Any, db_session: Any, data_dir: Path, tmp_path: Path) -> None:
    doc = _archive(db_session, data_dir, tmp_path, "scan.png", _tiny_png(), None)
    db_session.execute(delete(ThumbnailJob))
    db_session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["thumbnails", "--wait"])
    assert result.exit_code == 0, result.output
    assert "1 vignette(s) mise(s) en file" in result.output and "1 prête(s), 0 en échec" in result.output
    target = thumbnail_path(data_dir / "thumbnails", doc.current.sha256)
    assert target.is_file()
    again = runner.invoke(args=["thumbnails", "--all"])
    assert again.exit_code == 0 and "1 à redessiner" in again.output and not target.exists()


def test_search_results_show_each_documents_thumbnail(app: Any, db_session: Any, data_dir: Path,
                                                      tmp_path: Path) -> None:
    from intranet.search.views import sync_drain

    doc = _archive(db_session, data_dir, tmp_path, "bilan.docx", sf.make_docx(["Bilan des ateliers Lumière"]), "11")
    sync_drain(app)
    page = testkit.login_client(app, "idf").get("/recherche/?q=ateliers").get_data(as_text=True)
    assert "Bilan des ateliers" in page or "bilan.docx" in page
    assert f'src="/documents/{doc.id}/vignette?v=1"' in page
    other = testkit.login_client(app, "paca").get("/recherche/?q=ateliers").get_data(as_text=True)
    assert "/vignette" not in other


def test_a_job_left_by_a_killed_worker_is_claimed_again_after_its_lease(app: Any, db_session: Any, data_dir: Path,
                                                                        tmp_path: Path) -> None:
    import time

    doc = _archive(db_session, data_dir, tmp_path, "scan.png", _tiny_png(), "11")
    first = queue.claim(db_session, "hote:111", lease_s=0.2)
    db_session.commit()
    assert first is not None and first.sha256 == doc.current.sha256
    assert queue.claim(db_session, "hote:222", lease_s=60) is None  # held while the lease runs
    db_session.commit()
    time.sleep(0.4)  # worker 111 was killed: it never finishes nor renews
    again = queue.claim(db_session, "hote:222", lease_s=60)
    db_session.commit()
    assert again is not None and again.id == first.id and again.worker == "hote:222" and again.attempts == 2
    # While worker 222 holds it, a restarted worker finds nothing to take.
    assert process_one(app.extensions["db_factory"], LocalStorage(data_dir / "files"), data_dir / "thumbnails",
                       worker="hote:111") is False
