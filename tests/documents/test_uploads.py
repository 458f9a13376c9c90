"""The rules of a multi-file upload, in the domain: checks before storing, titles, partial archiving."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from documents import archive, uploads
from documents.models import Document
from documents.storage import LocalStorage
from samplefiles import make_docx, write_sample
from testkit import user


def _meta(title: str, doc_type: str | None, year: int | None) -> archive.Metadata:
    return archive.Metadata(title=title, doc_type=doc_type or "convention", region_code="11", year=year or 2026)


def _file(tmp_path: Path, name: str, text: str, **kw: Any) -> uploads.IncomingFile:
    return uploads.IncomingFile(path=write_sample(tmp_path / name, make_docx([text])), filename=name, **kw)


def _count(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(Document)) or 0


def test_one_bad_file_stores_nothing_and_each_problem_names_its_file(db_session: Any, tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    good = _file(tmp_path, "convention.docx", "Convention de coordination régionale 2026.")
    bad = uploads.IncomingFile(path=write_sample(tmp_path / "faux.docx", b"pas un docx"), filename="faux.docx")
    same = uploads.IncomingFile(path=good.path, filename="copie.docx")
    result = uploads.archive_batch(db_session, store, actor=user(db_session, "idf"), files=[good, bad, same],
                                   shared_title="", metadata=_meta)
    assert result.created == [] and _count(db_session) == 0 and list(store.keys()) == []
    assert [p.filename for p in result.problems] == ["faux.docx", "copie.docx"]
    assert "identique à « convention.docx »" in result.problems[1].message
    assert result.status == 415  # the gravest problem decides: a file that is not what it claims to be


def test_titles_typed_once_apply_to_one_file_only(db_session: Any, tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    files = [_file(tmp_path, "a.docx", "Premier bilan."), _file(tmp_path, "b.docx", "Second bilan.")]
    result = uploads.archive_batch(db_session, store, actor=user(db_session, "idf"), files=files,
                                   shared_title="Bilan 2026", metadata=_meta)
    assert result.status == 422 and result.invalid is not None and "plusieurs fichiers" in result.invalid.message
    assert _count(db_session) == 0
    files = [_file(tmp_path, "c.docx", "Troisième bilan.", title="Bilan de la Seine-Saint-Denis"),
             _file(tmp_path, "d.docx", "Quatrième bilan.")]
    result = uploads.archive_batch(db_session, store, actor=user(db_session, "idf"), files=files,
                                   shared_title="", metadata=_meta)
    assert result.status == 200 and [d.title for d in result.created][0] == "Bilan de la Seine-Saint-Denis"
    assert result.created[1].title  # its own title (first heading or file name), never empty


def test_a_duplicate_of_a_document_out_of_scope_is_not_named(db_session: Any, tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    paca = _file(tmp_path, "paca.docx", "Convention PACA confidentielle.")
    archive.archive_document(db_session, store, actor=user(db_session, "admin"), path=paca.path,
                             filename="paca.docx", meta=archive.Metadata(title="PACA", region_code="93"))
    db_session.commit()
    again = uploads.IncomingFile(path=paca.path, filename="encore.docx")
    result = uploads.archive_batch(db_session, store, actor=user(db_session, "idf"), files=[again],
                                   shared_title="", metadata=_meta)
    assert result.status == 409 and result.problems[0].document_id is None
    assert "auquel vous n'avez pas accès" in result.problems[0].message
    mine = uploads.archive_batch(db_session, store, actor=user(db_session, "admin"), files=[again],
                                 shared_title="", metadata=_meta)
    assert mine.problems[0].document_id is not None


def test_a_failure_midway_keeps_the_files_archived_before_it(db_session: Any, tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    files = [_file(tmp_path, "a.docx", "Premier compte rendu."), _file(tmp_path, "b.docx", "Second compte rendu.")]

    def meta(title: str, doc_type: str | None, year: int | None) -> archive.Metadata:
        # The second file's metadata is refused by the archive (a year out of bounds).
        return archive.Metadata(title=title, region_code="11", year=2026 if title != files[1].title else 1719709)

    files[1] = uploads.IncomingFile(path=files[1].path, filename="b.docx", title="Refusé")
    result = uploads.archive_batch(db_session, store, actor=user(db_session, "idf"), files=files,
                                   shared_title="", metadata=meta)
    assert len(result.created) == 1 and result.invalid is not None and result.status == 422
    db_session.commit()  # the edge commits what was archived before the failure
    assert _count(db_session) == 1
