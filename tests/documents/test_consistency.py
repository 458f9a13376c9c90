"""``intranet check`` logic: database ↔ files, and failures in the middle of an upload (they leave no partial state)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import samplefiles as sf
import testkit
from documents import accounts, consistency, intake
from documents.archive import Metadata, add_version, archive_document
from documents.models import AuditEvent, Document, DocumentVersion, User
from documents.storage import LocalStorage, sha256_file

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(data_dir: Path) -> LocalStorage:
    return LocalStorage(data_dir / "files")


#: The database ↔ files checks this module tests (the search index adds its own, tested with the indexer).
FILE_CHECKERS = [consistency.check_version_files, consistency.check_orphan_files, consistency.check_temp_files,
                 consistency.check_empty_documents]


def check(session, store: LocalStorage, data_dir: Path, **kwargs) -> consistency.CheckReport:
    kwargs.setdefault("grace_s", 0)
    kwargs.setdefault("checkers", FILE_CHECKERS)
    return consistency.run_checks(session, store, data_dir=data_dir, **kwargs)


def archive(session, store: LocalStorage, tmp_path: Path, name: str, text: str, *, region: str | None = "11"):
    path = sf.write_sample(tmp_path / "in" / name, sf.make_docx([text]))
    return archive_document(session, store, actor=testkit.user(session, "admin"), path=path, filename=name,
                            meta=Metadata(title=text[:40], region_code=region))


def age(path: Path, seconds: float) -> None:
    """Pretend ``path`` was written ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(path, (then, then))


def kinds(report: consistency.CheckReport) -> list[str]:
    return sorted(p.kind for p in report.problems)


def test_clean_archive_has_no_problem(app, db_session, store, data_dir, tmp_path) -> None:
    archive(db_session, store, tmp_path, "a.docx", "Convention A")
    archive(db_session, store, tmp_path, "b.docx", "Convention B")
    report = check(db_session, store, data_dir)
    assert report.ok and report.problems == []
    assert report.stats == {"versions": 2, "files": 2}


# ------------------------------------------------------------------ interruption leaves no partial state


IMPORT_SCRIPT = """
import sys
from pathlib import Path
from documents import intake
from documents.db import make_engine, make_session_factory
from documents.storage import LocalStorage
url, store, folder = sys.argv[1:4]
session = make_session_factory(make_engine(url))()
intake.import_folder(session, LocalStorage(store), Path(folder), actor=intake.default_actor(session),
                     checkpoint=session.commit)
session.commit()
"""


def start_import(database_url: str, store: LocalStorage, folder: Path, log: Path) -> subprocess.Popen[bytes]:
    """``import_folder`` in a separate process, as the CLI runs it; its stderr goes to ``log``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("wb") as err:
        return subprocess.Popen([sys.executable, "-c", IMPORT_SCRIPT, database_url, str(store.root), str(folder)],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=err)


def kill_with_children(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the importer, then the extraction workers it had started (they run in their own session)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == process.pid:
            children.append(int(stat.parent.name))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_for(condition, *, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.mark.slow
def test_import_resumes_after_being_killed(app, db_session, store, database_url: str, tmp_path: Path) -> None:
    root = tmp_path / "partage"
    total = 12
    for index in range(total):
        sf.write_sample(root / f"Bretagne/{2000 + index}/bilan {index:02d}.docx",
                        sf.make_docx([f"Bilan numéro {index} de la coordination régionale."]))
    log = tmp_path / "import.log"
    process = start_import(database_url, store, root, log)

    def committed() -> int:
        db_session.rollback()
        return db_session.scalar(select(func.count()).select_from(Document)) or 0

    try:
        wait_for(lambda: committed() >= 3 or process.poll() is not None, what="three committed documents")
    finally:
        assert process.poll() is None, log.read_text()
        kill_with_children(process)
    before = committed()
    assert 3 <= before < total, "the kill must land in the middle of the import"

    report = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"),
                                  checkpoint=db_session.commit)
    assert report.counts["duplicate"] == before
    assert report.counts["imported"] == total - before
    assert committed() == total
    assert sorted(db_session.scalars(select(Document.year))) == list(range(2000, 2000 + total))
    # A file stored by the killed process but never committed was adopted by the rerun: no orphan is
    # left; only a temp file remains if the kill landed in the middle of a copy, and repair sweeps it.
    data_dir = Path(app.config["DATA_DIR"])
    found = check(db_session, store, data_dir)
    assert {p.kind for p in found.problems} <= {"temp_file"}, found.as_dict()
    check(db_session, store, data_dir, repair=True)
    assert check(db_session, store, data_dir).ok




@pytest.mark.slow
def test_process_killed_between_file_write_and_commit(app, db_session, store, data_dir, database_url,
                                                       tmp_path) -> None:
    """The importer dies while the file is stored and its text is being extracted, before the commit."""
    root = tmp_path / "partage"
    # Extracting 800 pages takes seconds: a wide, real window between put_file and commit.
    pdf = sf.write_sample(root / "bilan long.pdf", sf.make_long_pdf(800))
    sha = sha256_file(pdf)
    log = tmp_path / "import.log"
    process = start_import(database_url, store, root, log)
    try:
        wait_for(lambda: store.exists(sha) or process.poll() is not None, what="the stored file")
        assert process.poll() is None, log.read_text()
    finally:
        kill_with_children(process)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Document)) == 0, "no row may survive the kill"
    assert store.exists(sha)

    report = check(db_session, store, data_dir)
    assert not report.ok
    orphan = [p for p in report.problems if p.kind == "orphan_file"]
    assert [p.subject for p in orphan] == [sha]

    repaired = check(db_session, store, data_dir, repair=True)
    assert repaired.ok
    assert not store.exists(sha)
    kept = data_dir / consistency.LOST_AND_FOUND / sha
    assert kept.read_bytes() == pdf.read_bytes(), "repair never destroys bytes"
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "check.repair")) is not None
    after = check(db_session, store, data_dir)
    assert after.ok and after.problems == []

    # Nothing lost: the rerun files it.
    rerun = intake.import_folder(db_session, store, root, actor=testkit.user(db_session, "admin"))
    assert rerun.counts["imported"] == 1
    assert check(db_session, store, data_dir).ok


def test_young_orphan_is_reported_but_not_moved(app, db_session, store, data_dir, tmp_path) -> None:
    # An upload stores its file a moment before it commits: a fresh unreferenced file may be one.
    path = sf.write_sample(tmp_path / "x.docx", sf.make_docx(["En cours d'envoi"]))
    sha = sha256_file(path)
    store.put_file(path, sha)
    report = consistency.run_checks(db_session, store, data_dir=data_dir, repair=True, checkers=FILE_CHECKERS)
    assert kinds(report) == ["orphan_file"] and not report.ok
    assert "envoi en cours" in report.problems[0].message
    assert store.exists(sha)
    age(store.local_path(sha), consistency.DEFAULT_GRACE_S + 60)
    report = consistency.run_checks(db_session, store, data_dir=data_dir, repair=True, checkers=FILE_CHECKERS)
    assert report.ok and not store.exists(sha)
    assert (data_dir / consistency.LOST_AND_FOUND / sha).is_file()


def _deleted_account(app, db_session) -> User:
    """An account loaded by this session, then deleted by another one (an admin removing it meanwhile)."""
    ghost = accounts.create_user(db_session, email="parti@test.fr", role="admin", region_code=None,
                                 password=testkit.PASSWORD, name="Parti")
    db_session.commit()
    other = app.extensions["db_factory"]()
    other.delete(other.get(User, ghost.id))
    other.commit()
    other.close()
    return ghost


def test_failed_commit_of_a_version_keeps_previous_and_leaves_no_file(app, db_session, store, data_dir,
                                                                      tmp_path) -> None:
    doc = archive(db_session, store, tmp_path, "v1.docx", "Convention version 1")
    v1_sha = doc.current.sha256
    ghost = _deleted_account(app, db_session)
    new = sf.write_sample(tmp_path / "v2.docx", sf.make_docx(["Convention version 2"]))
    with pytest.raises(IntegrityError):
        # A real foreign-key violation: the version's author no longer exists.
        add_version(db_session, store, doc, actor=ghost, path=new, filename="v2.docx")
    db_session.expire_all()
    reloaded = db_session.get(Document, doc.id)
    assert [v.number for v in reloaded.versions] == [1]
    assert reloaded.current.sha256 == v1_sha and store.exists(v1_sha)
    assert not store.exists(sha256_file(new)), "the new file must be undone"
    assert check(db_session, store, data_dir).ok


def test_failed_commit_of_a_new_document_leaves_nothing(app, db_session, store, data_dir, tmp_path) -> None:
    ghost = _deleted_account(app, db_session)
    path = sf.write_sample(tmp_path / "n.docx", sf.make_docx(["Nouveau document"]))
    with pytest.raises(IntegrityError):
        archive_document(db_session, store, actor=ghost, path=path, filename="n.docx", meta=Metadata(title="N"))
    assert db_session.scalar(select(func.count()).select_from(Document)) == 0
    assert list(store.keys()) == []
    assert check(db_session, store, data_dir).ok


# ------------------------------------------------------------------ files


def test_missing_file_is_reported_and_restored_from_lost_and_found(app, db_session, store, data_dir,
                                                                   tmp_path) -> None:
    doc = archive(db_session, store, tmp_path, "a.docx", "Convention A")
    sha = doc.current.sha256
    saved = store.local_path(sha).read_bytes()
    store.delete(sha)
    report = check(db_session, store, data_dir, repair=True)
    assert kinds(report) == ["missing_file"] and not report.ok
    assert report.problems[0].details == {"document_id": doc.id, "version": 1, "sha256": sha}
    assert "sauvegarde" in report.problems[0].action

    sf.write_sample(data_dir / consistency.LOST_AND_FOUND / sha, saved)
    report = check(db_session, store, data_dir, repair=True)
    assert report.ok and report.problems[0].repaired
    assert store.local_path(sha).read_bytes() == saved
    assert check(db_session, store, data_dir).problems == []


def test_altered_file_is_reported_and_kept_aside_when_repaired(app, db_session, store, data_dir, tmp_path) -> None:
    doc = archive(db_session, store, tmp_path, "a.docx", "Convention A")
    sha = doc.current.sha256
    good = store.local_path(sha).read_bytes()
    store.local_path(sha).write_bytes(good[:-10] + b"0123456789")
    assert check(db_session, store, data_dir, verify_hashes=False).ok, "without hashing only presence is checked"
    report = check(db_session, store, data_dir, repair=True)
    assert kinds(report) == ["hash_mismatch"] and not report.ok
    lost = data_dir / consistency.LOST_AND_FOUND
    sf.write_sample(lost / sha, good)
    report = check(db_session, store, data_dir, repair=True)
    assert report.ok
    assert store.local_path(sha).read_bytes() == good
    altered = [p for p in lost.iterdir() if p.name.startswith(f"{sha}.altered-")]
    assert len(altered) == 1 and altered[0].read_bytes().endswith(b"0123456789")


def test_old_temp_files_are_swept_young_ones_left(app, db_session, store, data_dir) -> None:
    old = sf.write_sample(store.root / "tmp" / "upload-old", b"partial")
    young = sf.write_sample(store.root / "tmp" / "upload-young", b"partial")
    age(old, 2 * 3600)
    report = consistency.run_checks(db_session, store, data_dir=data_dir, checkers=FILE_CHECKERS)
    assert [p.subject for p in report.problems] == ["upload-old"] and not report.ok
    report = consistency.run_checks(db_session, store, data_dir=data_dir, repair=True, checkers=FILE_CHECKERS)
    assert report.ok and not old.exists() and young.exists()


# ------------------------------------------------------------------ rows


def test_document_without_version_is_removed_only_without_files(app, db_session, store, data_dir,
                                                                 tmp_path) -> None:
    empty = Document(title="Fiche vide", doc_type="convention", region_code="11")
    db_session.add(empty)
    kept_doc = archive(db_session, store, tmp_path, "a.docx", "Convention gardée")
    sha = kept_doc.current.sha256
    # A document whose version row vanished while its file is still known (by the audit log).
    db_session.delete(kept_doc.current)
    db_session.commit()
    report = check(db_session, store, data_dir)
    assert kinds(report) == ["empty_document", "empty_document", "orphan_file"]

    report = check(db_session, store, data_dir, repair=True)
    db_session.expire_all()
    assert db_session.get(Document, empty.id) is None
    assert db_session.get(Document, kept_doc.id) is not None
    by_subject = {p.subject: p for p in report.problems}
    assert by_subject[f"document {empty.id}"].repaired
    assert not by_subject[f"document {kept_doc.id}"].repaired
    assert sha in by_subject[f"document {kept_doc.id}"].action
    assert not report.ok
    deleted = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.repair_delete"))
    assert deleted.object_id == str(empty.id)


# ------------------------------------------------------------------ extension


def test_extra_checkers_run_and_a_broken_one_hides_nothing(app, db_session, store, data_dir, tmp_path) -> None:
    archive(db_session, store, tmp_path, "a.docx", "Convention A")
    orphan = sf.write_sample(tmp_path / "o.txt", b"orphelin\n")
    store.put_file(orphan, sha256_file(orphan))

    def index_checker(ctx: consistency.CheckContext) -> list[consistency.Problem]:
        count = ctx.session.scalar(select(func.count()).select_from(DocumentVersion))
        ctx.stats["index"] = 0
        return [consistency.Problem("index_missing", "document", f"{count} version(s) absentes de l'index.")]

    def broken(ctx: consistency.CheckContext) -> list[consistency.Problem]:
        raise RuntimeError("index illisible")

    checkers = [*FILE_CHECKERS, broken, index_checker]
    report = check(db_session, store, data_dir, checkers=checkers)
    assert kinds(report) == ["checker_failed", "index_missing", "orphan_file"]
    assert report.stats["index"] == 0
    assert "index illisible" in next(p.message for p in report.problems if p.kind == "checker_failed")

    before = list(consistency.CHECKERS)
    try:
        assert consistency.register_checker(index_checker) is index_checker
        consistency.register_checker(index_checker)
        assert consistency.CHECKERS == [*before, index_checker]
    finally:
        consistency.CHECKERS[:] = before
