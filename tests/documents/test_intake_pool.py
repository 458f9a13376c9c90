"""Folder import through the pool of bounded extraction workers: hostile files and a killed worker fail only
their own file, the next files are imported, and no worker outlives the import."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import samplefiles as sf
import testkit
from documents import intake
from documents.extraction import ExtractionPool, PoolSettings
from documents.extraction.pool import CRASH_REASON
from documents.models import Document, DocumentVersion
from documents.storage import LocalStorage
from testkit import alive, children_of


@pytest.fixture
def store(data_dir: Path) -> LocalStorage:
    return LocalStorage(data_dir / "files")


def _versions(db_session) -> dict[str, DocumentVersion]:
    db_session.expire_all()
    return {v.origin["path"]: v for v in db_session.scalars(select(DocumentVersion))}


def test_mixed_and_hostile_files_fail_alone_and_no_worker_is_left(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    sf.write_sample(root / "Bretagne/2010/Convention DRAC.docx", sf.make_docx(["Convention de la région Bretagne."]))
    sf.write_sample(root / "Bretagne/2011/Bilan.pdf", sf.make_pdf(["Bilan annuel de la coordination."] * 3))
    sf.write_sample(root / "Bretagne/2012/Notes.txt", "Notes du comité local, été 2012.".encode())
    sf.write_sample(root / "Bretagne/2012/nuls.txt", "Notes\0 du comité\0 local.".encode())
    sf.write_sample(root / "Bretagne/2012/bombe.docx", sf.make_zip_bomb("ratio"))
    sf.write_sample(root / "Bretagne/2012/coupé.pdf", sf.make_truncated_pdf())
    sf.write_sample(root / "Bretagne/2012/nuls.pdf", b"%PDF-1.4\n" + b"\0" * 4096)
    for index in range(4):
        sf.write_sample(root / f"Bretagne/2013/CR {index}.docx", sf.make_docx([f"Compte rendu numéro {index}."]))
    before = children_of(os.getpid())
    report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"))
    db_session.commit()
    assert children_of(os.getpid()) <= before, "the import's own workers are stopped when it ends"

    outcomes = {o.path: o for o in report.outcomes}
    assert report.counts == {"imported": 7, "duplicate": 0, "rejected": 4, "ignored": 0}
    truncated = "Le fichier est tronqué ou endommagé (envoi interrompu ?) : renvoyez-le depuis l'original."
    assert {path: o.reason for path, o in outcomes.items() if o.outcome == "rejected"} == {
        "Bretagne/2012/bombe.docx": "Archive refusée : un de ses éléments se décompresse plus de 100 fois (« bombe » "
                                    "de décompression). Ce fichier n'est pas un document ordinaire.",
        "Bretagne/2012/coupé.pdf": truncated,
        "Bretagne/2012/nuls.pdf": truncated,
        "Bretagne/2012/nuls.txt": "Le fichier « nuls.txt » porte l'extension .txt mais c'est en réalité un fichier "
                                  "binaire d'un type non pris en charge. Envoyez le bon fichier ou enregistrez-le au "
                                  "bon format.",
    }
    versions = _versions(db_session)
    assert set(versions) == {o.path for o in report.of("imported")}
    assert versions["Bretagne/2010/Convention DRAC.docx"].text == "Convention de la région Bretagne."
    assert "Bilan annuel" in versions["Bretagne/2011/Bilan.pdf"].text
    assert versions["Bretagne/2012/Notes.txt"].text == "Notes du comité local, été 2012."
    assert [versions[f"Bretagne/2013/CR {i}.docx"].text for i in range(4)] == [
        f"Compte rendu numéro {i}." for i in range(4)]


def test_workers_are_replaced_during_a_long_import(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    for index in range(9):
        sf.write_sample(root / f"Bretagne/{2010 + index}/Bilan {index}.docx", sf.make_docx([f"Bilan {index}."]))
    with ExtractionPool(PoolSettings(workers=2, max_files=2)) as pool:
        report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"), pool=pool,
                                      checkpoint=db_session.commit)
        assert report.counts["imported"] == 9
        assert pool.starts >= 5, "two files per worker: at least five workers for nine files"
    assert sorted(v.text for v in _versions(db_session).values()) == [f"Bilan {i}." for i in range(9)]


def test_a_worker_killed_during_an_import_fails_only_its_file(app, db_session, store, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    sf.write_sample(root / "a-long.pdf", sf.make_long_pdf(2000))
    for name in ("b", "c", "d"):
        sf.write_sample(root / f"{name}.docx", sf.make_docx([f"Convention {name}."]))
    with ExtractionPool(PoolSettings(workers=1)) as pool:
        killed: list[int] = []

        def kill_the_busy_worker() -> None:
            deadline = time.monotonic() + 30
            while not pool.pids and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.5)  # well inside the 2,000 pages
            killed.extend(pool.pids)
            os.kill(killed[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_the_busy_worker)
        killer.start()
        report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"), pool=pool,
                                      checkpoint=db_session.commit)
        killer.join()
        assert pool.starts == 2
    assert report.counts == {"imported": 4, "duplicate": 0, "rejected": 0, "ignored": 0}
    assert not alive(killed[0])
    versions = _versions(db_session)
    assert (versions["a-long.pdf"].text_status, versions["a-long.pdf"].text_reason) == ("failed", CRASH_REASON)
    assert [versions[f"{n}.docx"].text for n in "bcd"] == ["Convention b.", "Convention c.", "Convention d."]
    assert db_session.scalar(select(Document).where(Document.id == report.outcomes[0].document_id)) is not None
