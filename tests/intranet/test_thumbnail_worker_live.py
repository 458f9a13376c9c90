"""``intranet thumbnail-worker`` started as ``make run`` starts it: a real process draws the first page of a PDF and a .docx."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

import samplefiles as sf
from documents.archive import Metadata, archive_document
from documents.db import make_engine, make_session_factory
from documents.models import ThumbnailJob, User
from documents.storage import LocalStorage
from documents.thumbnails.render import WIDTH, thumbnail_path
from intranet.background import WORKERS
from testkit import LIVE_BACKENDS, ROOT, intranet_argv, make_run_env

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("pdftoppm") is None or shutil.which("soffice") is None,
                                 reason="pdftoppm (poppler-utils) and LibreOffice draw the thumbnails")]


@pytest.fixture(params=LIVE_BACKENDS)
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of ``make run`` on a fresh data folder and database."""
    with make_run_env(request.param, tmp_path) as env:
        yield env


def test_the_thumbnail_worker_process_draws_a_pdf_and_a_docx(env: dict[str, str], tmp_path: Path) -> None:
    assert "thumbnails" in [w.name for w in WORKERS], "declared, so that make run starts it"
    done = subprocess.run(intranet_argv("bootstrap"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    data = Path(env["INTRANET_DATA_DIR"])
    engine = make_engine(env["DATABASE_URL"])
    session = make_session_factory(engine)()
    log = data / "thumbnail-worker.log"
    log_file = log.open("w")
    worker = subprocess.Popen(intranet_argv("thumbnail-worker"), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=log_file)
    try:
        store = LocalStorage(data / "files")
        admin = session.scalars(select(User).order_by(User.id)).first()
        docs = []
        for name, payload in (("bilan.pdf", sf.make_pdf(["Bilan régional 2024 de Passeurs d'images"])),
                              ("convention.docx", sf.make_docx(["Convention régionale 2025"]))):
            path = sf.write_sample(tmp_path / "in" / name, payload)
            docs.append(archive_document(session, store, actor=admin, path=path, filename=name,
                                         meta=Metadata(title=name, region_code="11")))
        session.commit()
        shas = [doc.current.sha256 for doc in docs]
        targets = [thumbnail_path(data / "thumbnails", sha) for sha in shas]
        deadline = time.monotonic() + 150

        def states() -> list[str]:
            session.rollback()
            return [session.scalar(select(ThumbnailJob.state).where(ThumbnailJob.sha256 == sha)) or "" for sha in shas]

        while states() != ["done", "done"] and time.monotonic() < deadline:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.2)
        assert states() == ["done", "done"], log.read_text()
        for target in targets:
            with Image.open(target) as image:
                assert image.format == "PNG" and image.width == WIDTH and 150 < image.height <= 320
                # A drawn page, not a blank square: the text leaves dark pixels.
                assert image.convert("L").getextrema()[0] < 220
        beat = json.loads((data / "heartbeats" / "thumbnails.json").read_text())
        assert beat["pid"] == worker.pid
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log_file.close()
        session.close()
        engine.dispose()
