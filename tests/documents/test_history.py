"""A document's history in plain French, paginated, with reads for administrators only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import samplefiles as sf
import testkit
from documents import history
from documents.archive import Metadata, add_version, archive_document, record_access
from documents.storage import LocalStorage


def _doc(session: Any, data_dir: Path, tmp_path: Path) -> Any:
    store = LocalStorage(data_dir / "files")
    idf = testkit.user(session, "idf")
    path = sf.write_sample(tmp_path / "a.docx", sf.make_docx(["Convention"]))
    doc = archive_document(session, store, actor=idf, path=path, filename="convention.docx",
                           meta=Metadata(title="Convention", region_code="11"))
    session.commit()
    path2 = sf.write_sample(tmp_path / "b.docx", sf.make_docx(["Convention modifiée"]))
    add_version(session, store, doc, actor=idf, path=path2, filename="convention-v2.docx")
    session.commit()
    return doc


def test_sentences_in_plain_french(app: Any, db_session: Any, data_dir: Path, tmp_path: Path) -> None:
    doc = _doc(db_session, data_dir, tmp_path)
    from documents.archive import update_metadata

    update_metadata(db_session, doc, actor=testkit.user(db_session, "idf"),
                    meta=Metadata(title="Convention 2026", region_code="11", year=2026))
    record_access(db_session, "document.download", doc, actor=testkit.user(db_session, "paca"), version=2)
    db_session.commit()
    page = history.document_history_page(db_session, doc)
    assert [e.sentence for e in page.entries] == [
        "Idf a modifié les informations (titre, année)",
        "Idf a ajouté la version 2",
        "Idf a déposé le document (fichier « convention.docx »)",
    ]
    assert page.total == 3 and page.pages == 1
    full = history.document_history_page(db_session, doc, include_access=True)
    assert full.entries[0].sentence == "Paca a téléchargé la version 2"
    assert full.entries[0].actor_email == "paca@test.fr" and "sha256" in full.entries[-1].details


def test_pages_of_twenty_and_out_of_range_pages(app: Any, db_session: Any, data_dir: Path, tmp_path: Path) -> None:
    doc = _doc(db_session, data_dir, tmp_path)
    for _ in range(43):
        record_access(db_session, "document.view", doc, actor=testkit.user(db_session, "idf"))
    db_session.commit()
    first = history.document_history_page(db_session, doc, include_access=True)
    assert first.total == 45 and first.pages == 3 and len(first.entries) == 20
    last = history.document_history_page(db_session, doc, include_access=True, page=3)
    assert len(last.entries) == 5 and last.entries[-1].sentence.endswith("a déposé le document (fichier « convention.docx »)")
    assert history.document_history_page(db_session, doc, include_access=True, page=10**6).page == 3
    assert history.document_history_page(db_session, doc, include_access=True, page=-4).page == 1


def test_the_page_shows_sentences_and_hides_hashes_from_non_admins(app: Any, db_session: Any, data_dir: Path,
                                                                    tmp_path: Path) -> None:
    doc = _doc(db_session, data_dir, tmp_path)
    sha = doc.current.sha256
    regional = testkit.login_client(app, "idf").get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Idf a ajouté la version 2" in regional and sha not in regional
    admin = testkit.login_client(app, "admin").get(f"/documents/{doc.id}").get_data(as_text=True)
    assert "Idf a ajouté la version 2" in admin and sha in admin and "Détails techniques" in admin
    client = testkit.login_client(app, "idf")
    for bad in ("?historique=99999999999999999999", "?historique=-1", "?historique=abc"):
        assert client.get(f"/documents/{doc.id}{bad}").status_code == 200
    assert client.get(f"/documents/{doc.id}?historique=%00").status_code == 400  # NUL bytes: refused app-wide
    # Lists and search results show each document's thumbnail (or its icon until it is drawn).
    listing = testkit.login_client(app, "idf").get("/documents/").get_data(as_text=True)
    assert f'src="/documents/{doc.id}/vignette?v={sha[:16]}"' in listing
