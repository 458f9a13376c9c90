"""Upload form: one title per file, never silently replaced; the default is the document's own title."""

from __future__ import annotations

import html
import io
from typing import Any

import docx
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

import samplefiles as sf
from documents.models import Document
from testkit import AuthActions


def _heading_docx(heading: str, body: str) -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_paragraph(body)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _post(client: Any, auth: AuthActions, files: list[tuple[bytes, str]], **fields: Any) -> Any:
    data: dict[str, Any] = {"doc_type": "convention", "region": "11", "status": "brouillon", "year": "2026",
                            "csrf_token": auth.token("/")}
    data.update(fields)
    data["files"] = [FileStorage(io.BytesIO(content), filename=name) for content, name in files]
    boundary, body = encode_multipart(MultiDict(data))
    return client.post("/documents/nouveau", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _titles(db_session: Any) -> list[str]:
    db_session.expire_all()
    return sorted(db_session.scalars(select(Document.title)))


def _count(db_session: Any) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Document)) or 0


def test_without_a_typed_title_each_document_takes_its_own(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("idf")
    response = _post(client, auth, [
        (_heading_docx("Convention de partenariat 2026", "Texte un."), "scan_0042.docx"),
        (sf.make_docx(["Texte deux."], core_title="Bilan qualitatif 2025"), "fichier.docx"),
        (sf.make_docx(["Texte trois."]), "Note_de_service.docx"),
    ])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _titles(db_session) == ["Bilan qualitatif 2025", "Convention de partenariat 2026", "Note de service"]


def test_shared_title_for_one_file_is_used(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("idf")
    response = _post(client, auth, [(_heading_docx("Titre interne", "Un."), "a.docx")], title="Mon titre à moi")
    assert response.status_code == 302
    assert _titles(db_session) == ["Mon titre à moi"]


def test_shared_title_with_several_files_is_refused_not_dropped(client: Any, auth: AuthActions,
                                                                db_session: Any) -> None:
    auth.login("idf")
    response = _post(client, auth, [(sf.make_docx(["Un."]), "a.docx"), (sf.make_docx(["Deux."]), "b.docx")],
                     title="Titre commun")
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Ce titre ne peut pas servir à plusieurs fichiers : laissez-le vide" in page
    assert _count(db_session) == 0


def test_two_different_titles_for_one_file_are_refused(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("idf")
    response = _post(client, auth, [(sf.make_docx(["Un."]), "a.docx")], title="Titre saisi",
                     file_title=["a"])
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "Deux titres différents pour ce fichier (« Titre saisi » et « a ») : gardez-en un seul." in page
    assert _count(db_session) == 0
    same = _post(client, auth, [(sf.make_docx(["Un."]), "a.docx")], title="Titre saisi", file_title=["Titre saisi"])
    assert same.status_code == 302 and _titles(db_session) == ["Titre saisi"]


def test_per_file_titles_types_and_years(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("idf")
    response = _post(client, auth, [
        (sf.make_docx(["Un."], core_title="Titre propre"), "a.docx"), (sf.make_docx(["Deux."]), "b.docx")],
        file_title=["", "Bilan IDF"], file_type=["convention", "bilan"], file_year=["2026", "2025"])
    assert response.status_code == 302
    db_session.expire_all()
    rows = sorted(db_session.execute(select(Document.title, Document.doc_type, Document.year)).all())
    assert rows == [("Bilan IDF", "bilan", 2025), ("Titre propre", "convention", 2026)]


def test_upload_page_has_one_title_type_and_year_without_javascript(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    page = client.get("/documents/nouveau").get_data(as_text=True)
    form = page.split("<template", 1)[0]  # the per-file row template is only used by the script
    assert form.count('name="title"') == 1 and form.count('name="doc_type"') == 1 and form.count('name="year"') == 1
    assert 'name="file_title"' not in form
    template = page.split('<template id="lib-per-file-row">', 1)[1].split("</template>", 1)[0]
    assert 'name="file_title"' in template and 'value=' not in template.split('name="file_title"')[1][:40]
