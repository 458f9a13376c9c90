"""The archive's web pages: upload, document page, versions, links, trash, dashboards, export.

Every route is tried by the standard accounts: another region's document
answers 404 with no bytes and a logged denial; changes by someone who may only read leave
the database as it was; lecteurs get 403 on every write; staff restore their own scope, only admins purge.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

import samplefiles as sf
from documents import archive
from documents.models import AuditEvent, Document, DocumentLink, DocumentVersion, Organisation
from documents.storage import LocalStorage
from testkit import AuthActions, user

# --------------------------------------------------------------------------- helpers


def store_of(app: Any) -> LocalStorage:
    return LocalStorage(app.config["STORAGE_DIR"])


def stored_files(app: Any) -> list[str]:
    return sorted(store_of(app).keys())


def make_doc(app: Any, session: Any, *, who: str = "idf", region: str | None = "11", title: str = "Convention",
             data: bytes | None = None, filename: str = "convention.docx", **meta: Any) -> Document:
    """Archive a real file through the domain verb, as ``who``."""
    path = Path(app.config["DATA_DIR"]) / f"in-{filename}"
    path.write_bytes(data if data is not None else sf.make_docx([f"{title} – texte {len(stored_files(app))}"]))
    try:
        doc = archive.archive_document(
            session, store_of(app), actor=user(session, who), path=path, filename=filename,
            meta=archive.Metadata(title=title, region_code=region, **meta),
        )
        session.commit()  # the test is the edge of this change
        return doc
    finally:
        path.unlink()


def count(session: Any, model: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def denials(session: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "access.denied")) or 0


def post_upload(client: Any, auth: AuthActions, files: list[tuple[bytes, str]], **fields: Any) -> Any:
    data: dict[str, Any] = {"doc_type": "convention", "region": "11", "status": "brouillon",
                            "csrf_token": auth.token("/")}
    data.update(fields)
    data["files"] = [FileStorage(io.BytesIO(content), filename=name) for content, name in files]
    # Encoded in memory: the test client would spool a body over 500 kB to a temporary file it never closes.
    boundary, body = encode_multipart(MultiDict(data))
    return client.post("/documents/nouveau", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def text(response: Any) -> str:
    return response.get_data(as_text=True)


class _Elements(HTMLParser):
    """Every start tag of a page with its attributes, and the text inside <script> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text += data


def assert_inert(html: str, where: str = "") -> None:
    """As a browser parses the page: no event-handler attribute, no inline script, no injected image."""
    parser = _Elements()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert not any(name.startswith("on") for name in attrs), (where, tag, attrs)
        if tag == "script":
            assert attrs.get("src", "").startswith("/static/"), (where, attrs)
        assert not (tag == "img" and attrs.get("src") == "x"), where
        assert not str(attrs.get("href") or "").lower().startswith("javascript:"), (where, attrs)
    assert parser.script_text.strip() == "", where


def docx_with_link(url: str, paragraphs: list[str]) -> bytes:
    """A real .docx whose first paragraph holds a hyperlink to ``url``."""
    import docx

    document = docx.Document()
    first = document.add_paragraph("Voir ")
    r_id = document.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = "le lien piégé"
    run.append(t)
    link.append(run)
    first._p.append(link)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- upload


def test_upload_page_is_labelled(client: Any, auth: AuthActions) -> None:
    auth.login("idf")
    response = client.get("/documents/nouveau")
    html = text(response)
    assert response.status_code == 200
    assert "<title>Archiver des fichiers" in html
    for name in ("files", "title", "doc_type", "region", "year", "status", "signature_date", "effective_date",
                 "end_date", "duration_months", "tacit_renewal", "notice_months", "parties", "quartiers",
                 "keywords", "notes", "comment"):
        assert f'for="{name}"' in html, name
    # A regional user may only file for their own region.
    region_select = re.search(r'<select[^>]*id="region".*?</select>', html, re.S).group(0)
    assert 'value="11"' in region_select and 'value="93"' not in region_select
    assert 'value="national"' not in region_select


def test_upload_one_docx(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    auth.login("idf")
    cnc = db_session.scalar(select(Organisation).where(Organisation.slug == "cnc"))
    response = post_upload(
        client, auth, [(sf.make_docx(["Convention régionale Île-de-France 2026."]), "convention-idf.docx")],
        title="Convention IDF 2026", year="2026", status="signe", signature_date="2026-01-15",
        effective_date="2026-02-01", duration_months="12", tacit_renewal="y", notice_months="3",
        parties=[str(cnc.id)], keywords="cinéma, quartiers", notes="Signée en double exemplaire.",
        comment="Première version",
    )
    assert response.status_code == 302, text(response)
    doc = db_session.scalar(select(Document))
    assert response.headers["Location"] == f"/documents/{doc.id}"
    assert (doc.title, doc.region_code, doc.year, doc.status) == ("Convention IDF 2026", "11", 2026, "signe")
    assert doc.signature_date == dt.date(2026, 1, 15) and doc.duration_months == 12 and doc.tacit_renewal
    assert doc.notice_months == 3 and [p.slug for p in doc.parties] == ["cnc"]
    assert doc.keyword_list == ["cinéma", "quartiers"]
    assert doc.current.filename == "convention-idf.docx" and doc.current.comment == "Première version"
    assert doc.current.text_indexed
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.upload")).object_id == str(doc.id)
    page = text(client.get(response.headers["Location"]))
    for shown in ("Convention IDF 2026", "Île-de-France", "Signé", "15 janvier 2026", "1 février 2026",
                  "12 mois", "3 mois", "Centre national du cinéma", "cinéma, quartiers", "Signée en double exemplaire",
                  "Première version", "convention-idf.docx", "Texte extrait", "31 janvier 2027"):
        assert shown in page, shown


def test_upload_many_files_titles_default_to_file_names(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("idf")
    files = [(sf.make_docx(["Compte rendu du comité."]), "CR_comite_2025.docx"),
             (sf.make_odt(["Bilan régional."]), "bilan 2025.odt"),
             (sf.make_pdf(["Cahier des charges."]), "cahier.pdf")]
    response = post_upload(client, auth, files, doc_type="compte_rendu", year="2025",
                           file_title=["", "Bilan IDF 2025", ""], file_type=["", "bilan", ""])
    assert response.status_code == 302 and response.headers["Location"] == "/documents/"
    docs = {d.current.filename: d for d in db_session.scalars(select(Document))}
    assert docs["CR_comite_2025.docx"].title == "CR comite 2025"
    assert (docs["bilan 2025.odt"].title, docs["bilan 2025.odt"].doc_type) == ("Bilan IDF 2025", "bilan")
    assert (docs["cahier.pdf"].title, docs["cahier.pdf"].doc_type) == ("cahier", "compte_rendu")
    assert {d.year for d in docs.values()} == {2025}
    assert {d.current.kind for d in docs.values()} == {"docx", "odt", "pdf"}


BAD_FILES = {
    "html renamed pdf": (sf.make_html(), "convention.pdf", 415),
    "pdf renamed docx": (sf.make_pdf(["x"]), "convention.docx", 415),
    "odt renamed docx": (sf.make_odt(["x"]), "convention.docx", 415),
    "macro docx": (sf.make_macro_docx(), "convention.docx", 400),
    "empty": (b"", "vide.pdf", 400),
    "truncated docx": (sf.make_truncated_docx(), "coupe.docx", 400),
    "zip bomb": (sf.make_zip_bomb("entries"), "bombe.docx", 400),
    "exe": (b"MZ\x90\x00" * 10, "programme.exe", 415),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_upload_stores_nothing(case: str, client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """One bad file among good ones → clear French error, 4xx, nothing stored."""
    data, name, status = BAD_FILES[case]
    auth.login("idf")
    response = post_upload(client, auth, [(sf.make_docx(["Un bon fichier."]), "bon.docx"), (data, name)])
    html = text(response)
    assert response.status_code == status
    assert "Aucun fichier n'a été enregistré" in html
    assert re.search(r"(refus|tronqué|vide|réalité|macros|Format non accepté)", html)
    assert count(db_session, Document) == 0 and count(db_session, DocumentVersion) == 0
    assert stored_files(app) == []
    assert list((Path(app.config["STORAGE_DIR"]) / "tmp").iterdir()) == []


def test_oversized_upload_gets_413_page(client: Any, auth: AuthActions, app: Any, db_session: Any) -> None:
    """An oversized upload gets a 413 with a clear page."""
    auth.login("idf")
    token = auth.token("/")
    app.config["MAX_CONTENT_LENGTH"] = 20_000
    response = client.post("/documents/nouveau", content_type="multipart/form-data", data={
        "csrf_token": token, "doc_type": "convention", "region": "11", "status": "brouillon",
        "files": [(io.BytesIO(sf.make_pdf(["x" * 100] * 40) + b" " * 30_000), "gros.pdf")]})
    assert response.status_code == 413
    assert "Fichier trop volumineux" in text(response)
    assert count(db_session, Document) == 0


def test_upload_without_csrf_is_refused(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """CSRF on every POST, no state change on GET."""
    auth.login("idf")
    response = client.post("/documents/nouveau", content_type="multipart/form-data", data={
        "doc_type": "convention", "region": "11", "status": "brouillon",
        "files": [(io.BytesIO(sf.make_docx(["x"])), "a.docx")]})
    assert response.status_code == 400
    assert count(db_session, Document) == 0 and stored_files(app) == []


def test_duplicate_upload_shows_existing_document(client: Any, auth: AuthActions, db_session: Any,
                                                  app: Any) -> None:
    data = sf.make_docx(["Convention déjà archivée."])
    auth.login("idf")
    assert post_upload(client, auth, [(data, "a.docx")], title="Déjà là").status_code == 302
    existing = db_session.scalar(select(Document))
    response = post_upload(client, auth, [(data, "copie.docx")])
    assert response.status_code == 409
    assert f'href="/documents/{existing.id}"' in text(response)
    assert count(db_session, Document) == 1
    # Someone who may not read it only learns that it exists elsewhere.
    auth.logout()
    auth.login("paca")
    response = post_upload(client, auth, [(data, "copie.docx")], region="93")
    html = text(response)
    assert response.status_code == 409
    assert "espace auquel vous n&#39;avez pas accès" in html
    assert f"/documents/{existing.id}" not in html and "Déjà là" not in html
    assert count(db_session, Document) == 1


def raw_upload(client: Any, token: str, filename: str, data: bytes) -> Any:
    """Post one file whose name travels RFC 2231-encoded, as a hand-made client can send it:
    that is how CR/LF and NUL reach the server (a plain quoted name cannot hold them)."""
    boundary = "----frontiere-de-test"
    fields = {"csrf_token": token, "doc_type": "convention", "region": "11", "status": "brouillon"}
    body = io.BytesIO()
    for key, value in fields.items():
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
               f"filename*=UTF-8''{quote(filename, safe='')}\r\nContent-Type: application/pdf\r\n\r\n".encode())
    body.write(data + f"\r\n--{boundary}--\r\n".encode())
    return client.post("/documents/nouveau", data=body.getvalue(),
                       content_type=f"multipart/form-data; boundary={boundary}")


HOSTILE_NAMES = [
    "../../etc/passwd.pdf",
    "rapport\r\nSet-Cookie: pris=1.pdf",
    "é" * 300 + ".pdf",
    "CON.pdf",
    "nul\x00byte.pdf",
    'guillemet" onmouseover="alert(1).pdf',
]


def test_hostile_file_names_download_safely(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """Hostile file names: generated storage path, name kept as metadata, RFC 6266 download, never a 500."""
    auth.login("idf")
    token = auth.token("/")
    for index, name in enumerate(HOSTILE_NAMES):
        response = raw_upload(client, token, name, sf.make_pdf([f"Document {index}"]))
        assert response.status_code == 302, (name, response.status_code)
    docs = db_session.scalars(select(Document).order_by(Document.id)).all()
    assert len(docs) == len(HOSTILE_NAMES)
    for doc in docs:
        version = doc.current
        assert "/" not in version.filename and "\r" not in version.filename and "\n" not in version.filename
        assert "\x00" not in version.filename and len(version.filename) <= 200
        assert version.filename.endswith(".pdf")
        assert store_of(app).local_path(version.sha256).name == version.sha256
        response = client.get(f"/documents/{doc.id}/versions/1/telecharger", buffered=True)
        assert response.status_code == 200
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;") and "\r" not in disposition and "\n" not in disposition
        assert "Set-Cookie" not in response.headers
        assert response.data == store_of(app).local_path(version.sha256).read_bytes()
        page = client.get(f"/documents/{doc.id}")
        assert page.status_code == 200
        assert 'onmouseover="alert' not in text(page)
    assert docs[3].current.filename == "_CON.pdf"


# --------------------------------------------------------------------------- access control


def _paca_doc(app: Any, db_session: Any) -> Document:
    return make_doc(app, db_session, who="paca", region="93", title="Convention PACA secrète",
                    data=sf.make_pdf(["Montant confidentiel 123456 euros."]), filename="paca.pdf",
                    doc_type="convention")


READ_ROUTES = [
    "/documents/{id}",
    "/documents/{id}/versions/1/telecharger",
    "/documents/{id}/versions/2/telecharger",
    "/documents/{id}/versions/1/apercu",
    "/documents/{id}/versions/1/pdf",
    "/documents/{id}/difference",
    "/documents/{id}/difference?de=1&a=2",
]


def test_other_region_reads_get_404_and_are_logged(client: Any, auth: AuthActions, db_session: Any,
                                                   app: Any) -> None:
    """Another region's document is invisible: page, download of any version, preview, inline PDF, diff,
    export → 404, no bytes, logged."""
    doc = _paca_doc(app, db_session)
    path = Path(app.config["DATA_DIR"]) / "v2.pdf"
    path.write_bytes(sf.make_pdf(["Montant confidentiel 999 euros."]))
    archive.add_version(db_session, store_of(app), doc, actor=user(db_session, "paca"), path=path, filename="v2.pdf")
    db_session.commit()
    secret = store_of(app).local_path(doc.current.sha256).read_bytes()
    for who in ("idf", "lecteur_idf"):
        auth.login(who)
        for route in READ_ROUTES:
            before = denials(db_session)
            response = client.get(route.format(id=doc.id))
            body = response.data
            assert response.status_code == 404, (who, route)
            assert secret[:200] not in body and b"PACA" not in body and b"%PDF" not in body
            assert denials(db_session) == before + 1, (who, route)
        before = denials(db_session)
        response = client.get("/documents/export.zip?region=93", buffered=True)
        assert response.status_code == 404 and denials(db_session) == before + 1
        # An unfiltered export or list just leaves the document out.
        listing = text(client.get("/documents/"))
        assert "PACA" not in listing
        auth.logout()
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "access.denied")
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert event.actor_email == "lecteur.idf@test.fr" and event.outcome == "denied"
    # Its own region and the admins still read it.
    auth.login("paca")
    assert client.get(f"/documents/{doc.id}/versions/2/telecharger", buffered=True).data == secret


def _snapshot(session: Any, doc_id: int) -> tuple[Any, ...]:
    session.expire_all()
    doc = session.get(Document, doc_id)
    return (doc.title, doc.region_code, doc.status, doc.deleted_at, len(doc.versions),
            count(session, DocumentLink), count(session, Document))


def test_other_region_changes_are_refused(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """Another region's document cannot be changed: edit, version, trash, link (either side), unlink → refused."""
    doc = _paca_doc(app, db_session)
    mine = make_doc(app, db_session, who="idf", region="11", title="Avenant IDF", doc_type="avenant")
    other_paca = make_doc(app, db_session, who="paca", region="93", title="Autre PACA", filename="autre.docx")
    archive.link_documents(db_session, actor=user(db_session, "paca"), source=other_paca, target=doc,
                           link_type="remplace")
    db_session.commit()
    link_id = db_session.scalar(select(DocumentLink.id))
    before = _snapshot(db_session, doc.id)
    files_before = stored_files(app)
    auth.login("idf")
    token = auth.token("/")
    attempts = [
        (f"/documents/{doc.id}/modifier", {"title": "Piraté", "doc_type": "convention", "region": "11",
                                           "status": "signe"}),
        (f"/documents/{doc.id}/versions", {"file": (io.BytesIO(sf.make_pdf(["remplacé"])), "x.pdf")}),
        (f"/documents/{doc.id}/corbeille", {}),
        (f"/documents/{doc.id}/liens", {"link_type": "modifie", "target_id": str(mine.id)}),
        (f"/documents/{mine.id}/liens", {"link_type": "inverse:releve_de", "target_id": str(doc.id)}),
        (f"/documents/{mine.id}/liens", {"link_type": "modifie", "target_id": str(doc.id)}),
        (f"/documents/{doc.id}/liens/{link_id}/supprimer", {}),
        (f"/documents/{mine.id}/liens/{link_id}/supprimer", {}),
    ]
    for url, data in attempts:
        data = dict(data, csrf_token=token)
        response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 404, (url, response.status_code)
        assert _snapshot(db_session, doc.id) == before, url
    assert stored_files(app) == files_before
    # GET of the edit form is refused too.
    assert client.get(f"/documents/{doc.id}/modifier").status_code == 404


def test_national_document_is_read_only_for_regional_staff(client: Any, auth: AuthActions, db_session: Any,
                                                           app: Any) -> None:
    """A regional user reads national documents but changes nothing in them (403, logged)."""
    national = make_doc(app, db_session, who="national", region=None, title="Protocole national",
                        doc_type="protocole")
    mine = make_doc(app, db_session, who="idf", region="11", title="Convention IDF", filename="idf.docx")
    before = _snapshot(db_session, national.id)
    auth.login("idf")
    assert client.get(f"/documents/{national.id}").status_code == 200
    token = auth.token("/")
    for url, data in [
        (f"/documents/{national.id}/modifier", {"title": "Changé", "doc_type": "protocole", "region": "11",
                                                "status": "signe"}),
        (f"/documents/{national.id}/versions", {"file": (io.BytesIO(sf.make_pdf(["v2"])), "v2.pdf")}),
        (f"/documents/{national.id}/corbeille", {}),
        (f"/documents/{national.id}/liens", {"link_type": "modifie", "target_id": str(mine.id)}),
        (f"/documents/{mine.id}/liens", {"link_type": "inverse:modifie", "target_id": str(national.id)}),
    ]:
        before_denials = denials(db_session)
        response = client.post(url, data=dict(data, csrf_token=token), content_type="multipart/form-data")
        assert response.status_code == 403, url
        assert denials(db_session) == before_denials + 1, url
        assert _snapshot(db_session, national.id) == before, url
    # The allowed direction works: their own avenant "relève de" the national protocol.
    response = client.post(f"/documents/{mine.id}/liens", data={"csrf_token": token, "link_type": "releve_de",
                                                                "target_id": str(national.id)})
    assert response.status_code == 302
    assert count(db_session, DocumentLink) == 1


def test_posting_another_region_is_refused(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """No writing outside one's regions: upload for, or move a document to, such a region → 422, unchanged."""
    auth.login("idf")
    response = post_upload(client, auth, [(sf.make_docx(["x"]), "x.docx")], region="93")
    assert response.status_code == 422
    assert count(db_session, Document) == 0 and stored_files(app) == []
    response = post_upload(client, auth, [(sf.make_docx(["x"]), "x.docx")], region="national")
    assert response.status_code == 422 and count(db_session, Document) == 0
    mine = make_doc(app, db_session, who="idf", region="11", title="À moi")
    before = _snapshot(db_session, mine.id)
    response = client.post(f"/documents/{mine.id}/modifier", data={
        "csrf_token": auth.token("/"), "title": "Déplacé", "doc_type": "convention", "region": "93",
        "status": "brouillon"})
    assert response.status_code == 422
    assert _snapshot(db_session, mine.id) == before


def test_lecteur_is_read_only(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """Lecteurs read their scope and get 403 on every write route."""
    doc = make_doc(app, db_session, who="idf", region="11", title="Convention IDF")
    other = make_doc(app, db_session, who="idf", region="11", title="Avenant IDF", filename="av.docx")
    before = _snapshot(db_session, doc.id)
    auth.login("lecteur_idf")
    assert client.get(f"/documents/{doc.id}").status_code == 200
    assert client.get(f"/documents/{doc.id}/versions/1/telecharger", buffered=True).status_code == 200
    assert client.get("/documents/nouveau").status_code == 403
    token = auth.token("/")
    for url, data in [
        ("/documents/nouveau", {"doc_type": "convention", "region": "11", "status": "brouillon",
                                "files": [(io.BytesIO(sf.make_docx(["y"])), "y.docx")]}),
        (f"/documents/{doc.id}/modifier", {"title": "Changé", "doc_type": "convention", "region": "11",
                                           "status": "signe"}),
        (f"/documents/{doc.id}/versions", {"file": (io.BytesIO(sf.make_pdf(["v2"])), "v2.pdf")}),
        (f"/documents/{doc.id}/corbeille", {}),
        (f"/documents/{doc.id}/liens", {"link_type": "modifie", "target_id": str(other.id)}),
        (f"/documents/{doc.id}/restaurer", {}),
        (f"/documents/{doc.id}/purger", {"confirm": "y"}),
    ]:
        response = client.post(url, data=dict(data, csrf_token=token), content_type="multipart/form-data")
        assert response.status_code == 403, url
        assert _snapshot(db_session, doc.id) == before, url
    page = text(client.get(f"/documents/{doc.id}"))
    assert "Modifier les métadonnées" not in page and "Mettre à la corbeille" not in page
    assert "Ajouter la version" not in page


def test_broken_permission_check_denies(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """A failing permission check denies: an account whose role no longer makes sense sees nothing."""
    doc = make_doc(app, db_session, who="idf", region="11", title="Convention IDF")
    auth.login("idf")
    account = user(db_session, "idf")
    account.role = "rôle-inconnu"
    db_session.commit()
    assert client.get(f"/documents/{doc.id}").status_code == 404
    assert "Convention IDF" not in text(client.get("/documents/"))
    assert client.get(f"/documents/{doc.id}/versions/1/telecharger", buffered=True).status_code == 404


# --------------------------------------------------------------------------- trash


def test_trash_restore_and_purge(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    doc = make_doc(app, db_session, who="idf", region="11", title="Convention à jeter")
    sha, doc_id = doc.current.sha256, doc.id
    auth.login("idf")
    response = client.post(f"/documents/{doc.id}/corbeille", data={"csrf_token": auth.token("/")})
    assert response.status_code == 302
    assert client.get(f"/documents/{doc.id}").status_code == 404
    assert "Convention à jeter" not in text(client.get("/documents/"))
    # Regional staff see their region's trash and may take the document back, but never purge it.
    assert "Convention à jeter" in text(client.get("/documents/corbeille"))
    token = auth.token("/")
    assert client.post(f"/documents/{doc.id}/purger", data={"csrf_token": token, "confirm": "y"}).status_code == 403
    assert client.post(f"/documents/{doc.id}/restaurer", data={"csrf_token": token}).status_code == 302
    db_session.expire_all()
    assert not db_session.get(Document, doc.id).in_trash
    assert client.post(f"/documents/{doc.id}/corbeille", data={"csrf_token": token}).status_code == 302
    auth.logout()

    auth.login("admin")
    trash = text(client.get("/documents/corbeille"))
    assert "Convention à jeter" in trash
    assert client.get(f"/documents/{doc.id}").status_code == 200
    token = auth.token("/")
    assert client.post(f"/documents/{doc.id}/restaurer", data={"csrf_token": token}).status_code == 302
    db_session.expire_all()
    assert not db_session.get(Document, doc.id).in_trash
    assert "Convention à jeter" in text(client.get(f"/documents/{doc.id}"))  # its preview is now cached
    previews = Path(app.config["DATA_DIR"]) / "previews"
    assert [p.name.split(".")[0] for p in previews.rglob("*.html")] == [sha]
    # Purging needs the trash first, then a confirmation.
    assert client.get(f"/documents/{doc.id}/purger").status_code == 404
    client.post(f"/documents/{doc.id}/corbeille", data={"csrf_token": token})
    assert client.post(f"/documents/{doc.id}/purger", data={"csrf_token": token}).status_code == 422
    assert count(db_session, Document) == 1 and store_of(app).exists(sha)
    response = client.post(f"/documents/{doc.id}/purger", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 302
    assert count(db_session, Document) == 0 and not store_of(app).exists(sha)
    assert list(previews.rglob("*.html")) == []
    actions = db_session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "document", AuditEvent.object_id == str(doc_id))).all()
    assert {"document.upload", "document.trash", "document.restore", "document.purge"} <= set(actions)


# --------------------------------------------------------------------------- output escaping


HOSTILE = '<script>alert(1)</script>"onmouseover=alert(2) x="'


def test_metadata_and_names_are_escaped(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """User text is escaped on the list, the document page, the dashboards and the home panel."""
    make_doc(app, db_session, who="idf", region="11", title=HOSTILE, filename="<img src=x onerror=alert(3)>.docx",
             keywords=[HOSTILE], notes=HOSTILE, doc_type="convention", effective_date=dt.date.today(),
             end_date=dt.date.today() + dt.timedelta(days=5))
    doc = db_session.scalar(select(Document))
    auth.login("idf")
    for url in ("/documents/", f"/documents/{doc.id}", "/documents/echeances", "/", f"/documents/{doc.id}/modifier",
                f"/documents/{doc.id}/versions/1/apercu"):
        html = text(client.get(url))
        assert_inert(html, url)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or \
            "&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover" in html, url


def test_docx_preview_is_sanitised(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    """User text stays harmless: a javascript: hyperlink and HTML-like text in a .docx stay harmless in the preview."""
    data = docx_with_link("javascript:alert(document.cookie)",
                          ['<script>alert("docx")</script>', '<img src=x onerror=alert(4)>'])
    doc = make_doc(app, db_session, who="idf", region="11", title="Piégé", data=data, filename="piege.docx")
    auth.login("idf")
    for url in (f"/documents/{doc.id}", f"/documents/{doc.id}/versions/1/apercu"):
        html = text(client.get(url))
        assert "le lien piégé" in html
        assert "javascript:" not in html
        assert_inert(html, url)
        assert "&lt;script&gt;alert(&#34;docx&#34;)&lt;/script&gt;" in html or \
            "&lt;script&gt;alert(\"docx\")&lt;/script&gt;" in html


# --------------------------------------------------------------------------- preview, versions, diff


def test_previews_of_each_kind(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    docx_doc = make_doc(app, db_session, title="Word", data=sf.make_docx(["Paragraphe Word visible."],
                        table=[["Ligne", "Montant"], ["Coordination", "12 000 €"]]), filename="w.docx")
    odt_doc = make_doc(app, db_session, title="ODT", data=sf.make_odt(["Paragraphe ODT visible."]),
                       filename="o.odt")
    pdf_doc = make_doc(app, db_session, title="PDF", data=sf.make_pdf(["Page PDF."]), filename="p.pdf")
    auth.login("idf")
    html = text(client.get(f"/documents/{docx_doc.id}/versions/1/apercu"))
    assert "Paragraphe Word visible." in html and "<td><p>12 000 €</p></td>" in html
    assert "Paragraphe ODT visible." in text(client.get(f"/documents/{odt_doc.id}"))
    page = text(client.get(f"/documents/{pdf_doc.id}/versions/1/apercu"))
    assert f'<iframe class="lib-pdf lib-pdf-tall" src="/documents/{pdf_doc.id}/versions/1/pdf"' in page
    response = client.get(f"/documents/{pdf_doc.id}/versions/1/pdf", buffered=True)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data.startswith(b"%PDF")
    # Only PDFs are ever served inline.
    assert client.get(f"/documents/{docx_doc.id}/versions/1/pdf", buffered=True).status_code == 404
    # The preview is cached per content, and served from the cache the second time.
    cached = list((Path(app.config["DATA_DIR"]) / "previews").rglob("*.html"))
    assert len(cached) == 2


def test_new_version_download_any_and_diff(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    v1 = sf.make_docx(["Article 1 : objet.", "Article 2 : montant de 10 000 euros.", "Article 3 : durée."])
    v2 = sf.make_docx(["Article 1 : objet.", "Article 2 : montant de 12 000 euros <b>révisé</b>.",
                       "Article 3 : durée.", "Article 4 : avenant."])
    doc = make_doc(app, db_session, title="Convention", data=v1, filename="c-v1.docx")
    auth.login("idf")
    response = client.post(f"/documents/{doc.id}/versions", content_type="multipart/form-data", data={
        "csrf_token": auth.token("/"), "comment": "Montant révisé", "file": (io.BytesIO(v2), "c-v2.docx")})
    assert response.status_code == 302
    page = text(client.get(f"/documents/{doc.id}"))
    assert "Montant révisé" in page and "c-v2.docx" in page and "c-v1.docx" in page
    assert client.get(f"/documents/{doc.id}/versions/1/telecharger", buffered=True).data == v1
    assert client.get(f"/documents/{doc.id}/versions/2/telecharger", buffered=True).data == v2
    assert client.get(f"/documents/{doc.id}/versions/3/telecharger", buffered=True).status_code == 404
    diff = text(client.get(f"/documents/{doc.id}/difference?de=1&a=2"))
    assert "2 ligne(s) ajoutée(s), 1 ligne(s) supprimée(s)" in diff
    assert "Article 2 : montant de 10 000 euros." in diff
    assert "montant de 12 000 euros &lt;b&gt;révisé&lt;/b&gt;." in diff
    assert '<tr class="lib-add">' in diff and '<tr class="lib-del">' in diff
    # The same file again is refused with a clear message; nothing is added.
    response = client.post(f"/documents/{doc.id}/versions", content_type="multipart/form-data", data={
        "csrf_token": auth.token("/"), "file": (io.BytesIO(v2), "encore.docx")})
    assert response.status_code == 409 and "identique à la version actuelle" in text(response)
    # A bad file as a new version: clear error, nothing stored, previous versions intact.
    files = stored_files(app)
    response = client.post(f"/documents/{doc.id}/versions", content_type="multipart/form-data", data={
        "csrf_token": auth.token("/"), "file": (io.BytesIO(sf.make_html()), "v3.pdf")})
    assert response.status_code == 415 and "en réalité une page HTML" in text(response)
    db_session.expire_all()
    assert len(db_session.get(Document, doc.id).versions) == 2 and stored_files(app) == files
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "document",
                                                                  AuditEvent.object_id == str(doc.id))).all()
    assert actions.count("document.download") == 2 and "document.version" in actions
    assert "document.view" in actions


def test_text_not_indexed_is_shown_with_reason(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    doc = make_doc(app, db_session, title="PDF chiffré", data=sf.make_encrypted_pdf(), filename="chiffre.pdf")
    assert not doc.current.text_indexed
    auth.login("idf")
    page = text(client.get(f"/documents/{doc.id}"))
    assert "Texte non indexé" in page and doc.current.text_reason and doc.current.text_reason in page
    listing = text(client.get("/documents/?sans_texte=1"))
    assert "PDF chiffré" in listing


# --------------------------------------------------------------------------- links


def test_links_are_shown_on_both_sides(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    convention = make_doc(app, db_session, title="Convention 2026", doc_type="convention", filename="c.docx")
    avenant = make_doc(app, db_session, title="Avenant n° 1", doc_type="avenant", filename="a.docx")
    auth.login("idf")
    # The page never lists the whole archive: the document to link is searched first.
    form = text(client.get(f"/documents/{avenant.id}"))
    assert f'n° {convention.id} – Convention 2026' not in form and "abord le document —" in form
    form = text(client.get(f"/documents/{avenant.id}?lien=convention"))
    assert f'<option value="{convention.id}">n° {convention.id} – Convention 2026' in form
    response = client.post(f"/documents/{avenant.id}/liens", data={
        "csrf_token": auth.token("/"), "link_type": "modifie", "target": str(convention.id)})
    assert response.status_code == 302
    assert "Ce document modifie" in text(client.get(f"/documents/{avenant.id}"))
    page = text(client.get(f"/documents/{convention.id}"))
    assert "Ce document est modifié par" in page and "Avenant n° 1" in page
    # The same link twice, a link to itself, or no target: clear 422.
    token = auth.token("/")
    for data in ({"link_type": "modifie", "target": str(convention.id)},
                 {"link_type": "modifie", "target_id": str(avenant.id)},
                 {"link_type": "modifie"},
                 {"link_type": "n-importe-quoi", "target_id": str(convention.id)}):
        response = client.post(f"/documents/{avenant.id}/liens", data=dict(data, csrf_token=token))
        assert response.status_code == 422, data
    assert count(db_session, DocumentLink) == 1
    # Inverse direction from the convention's page, then removal from the other side.
    response = client.post(f"/documents/{convention.id}/liens", data={
        "csrf_token": token, "link_type": "inverse:remplace", "target_id": str(avenant.id)})
    assert response.status_code == 302
    row = db_session.scalar(select(DocumentLink).where(DocumentLink.link_type == "remplace"))
    assert (row.source_id, row.target_id) == (avenant.id, convention.id)
    response = client.post(f"/documents/{convention.id}/liens/{row.id}/supprimer", data={"csrf_token": token})
    assert response.status_code == 302
    assert count(db_session, DocumentLink) == 1


# --------------------------------------------------------------------------- list, dashboards, export


def test_list_filters_sort_and_pagination(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    make_doc(app, db_session, title="Bilan 2024", doc_type="bilan", year=2024, filename="b.docx")
    make_doc(app, db_session, title="Convention 2025", doc_type="convention", year=2025, status="signe",
             quartier_codes=["1112001"] if False else [], filename="c.docx")
    make_doc(app, db_session, who="national", region=None, title="Protocole national", doc_type="protocole",
             year=2009, filename="p.docx")
    make_doc(app, db_session, who="paca", region="93", title="Convention PACA", doc_type="convention", year=2025,
             filename="paca.docx")
    auth.login("idf")

    def titles(query: str) -> list[str]:
        html = text(client.get("/documents/" + query))
        return re.findall(r'<a href="/documents/\d+">([^<]+)</a> <span class="lib-id">', html)

    assert sorted(titles("")) == ["Bilan 2024", "Convention 2025", "Protocole national"]
    assert titles("?type=convention") == ["Convention 2025"]
    assert titles("?region=national") == ["Protocole national"]
    assert titles("?region=93") == []
    assert titles("?year=2024") == ["Bilan 2024"]
    assert titles("?status=signe") == ["Convention 2025"]
    assert titles("?sort=title") == ["Bilan 2024", "Convention 2025", "Protocole national"]
    assert titles("?sort=year") == ["Convention 2025", "Bilan 2024", "Protocole national"]
    assert titles("?sort=updated")[0] == "Protocole national"
    assert titles("?q=conv") == ["Convention 2025"]
    assert titles("?sort=title&per_page=2") == ["Bilan 2024", "Convention 2025"]
    assert titles("?sort=title&per_page=2&page=2") == ["Protocole national"]
    assert "Page 1 sur 2" in text(client.get("/documents/?per_page=2"))
    # Junk in the query string is ignored, never an error.
    assert client.get("/documents/?year=abc&type=%3Cscript%3E&sort=drop&page=-3&party=x").status_code == 200


def test_deadlines_dashboard_and_home_panel(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    today = dt.date.today()
    make_doc(app, db_session, title="Convention qui finit bientôt", doc_type="convention", status="signe",
             effective_date=today - dt.timedelta(days=300), end_date=today + dt.timedelta(days=10),
             tacit_renewal=True, filename="a.docx")
    make_doc(app, db_session, title="Contrat à préavis", doc_type="contrat_objectifs", status="signe",
             end_date=today + dt.timedelta(days=150), notice_months=3, filename="b.docx")
    make_doc(app, db_session, title="Bilan hors sujet", doc_type="bilan", end_date=today + dt.timedelta(days=3),
             filename="c.docx")
    make_doc(app, db_session, title="Convention archivée", doc_type="convention", status="archive",
             end_date=today + dt.timedelta(days=3), filename="d.docx")
    make_doc(app, db_session, who="paca", region="93", title="Convention PACA", doc_type="convention",
             end_date=today + dt.timedelta(days=3), filename="e.docx")
    auth.login("idf")
    html = text(client.get("/documents/echeances"))
    soon, later = html.split('id="later-title"')
    assert "Convention qui finit bientôt" in soon and "Tacite reconduction" in soon and "Échéance" in soon
    assert "Contrat à préavis" in later and "Date limite de préavis" in later
    assert "Contrat à préavis" not in soon
    for absent in ("Bilan hors sujet", "Convention archivée", "Convention PACA"):
        assert absent not in html
    home = text(client.get("/"))
    assert "Échéances à 30 jours" in home and "Convention qui finit bientôt" in home
    assert "Contrat à préavis" in home  # recently modified
    assert "Convention PACA" not in home


def test_completeness_matrix(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    make_doc(app, db_session, title="Conv IDF 2024", doc_type="convention", year=2024, status="signe",
             filename="a.docx")
    make_doc(app, db_session, title="Conv IDF 2025 brouillon", doc_type="convention", year=2025, filename="b.docx")
    make_doc(app, db_session, who="paca", region="93", title="Conv PACA 2024", doc_type="convention", year=2024,
             status="signe", filename="c.docx")
    auth.login("admin")
    html = text(client.get("/documents/completude?type=convention&de=2024&a=2025&statut=signe"))
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', html, re.S))
    assert "Île-de-France" in rows and "Provence-Alpes-Côte d&#39;Azur" in rows
    idf_cells = re.findall(r'<td class="(lib-\w+)">', rows["Île-de-France"])
    assert idf_cells == ["lib-present", "lib-missing"]
    assert "region=11" in rows["Île-de-France"] and "year=2024" in rows["Île-de-France"]
    region_count = html.count('<th scope="row">')
    assert f"{region_count * 2 - 2} case(s) vide(s) sur {region_count * 2}" in html
    auth.logout()
    auth.login("idf")
    html = text(client.get("/documents/completude?type=convention&de=2024&a=2025"))
    assert re.findall(r'<th scope="row">([^<]+)</th>', html) == ["Île-de-France"]
    assert html.count('class="lib-present"') == 2


def test_export_zip_with_manifest(client: Any, auth: AuthActions, db_session: Any, app: Any,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    a = make_doc(app, db_session, title="=HYPERLINK(\"http://x\")", doc_type="convention", year=2025,
                 filename="a.docx", notes="Note ; avec point-virgule\net retour")
    b = make_doc(app, db_session, title="Bilan", doc_type="bilan", year=2025, filename="b.pdf",
                 data=sf.make_pdf(["bilan"]))
    make_doc(app, db_session, title="Autre année", doc_type="bilan", year=2020, filename="c.docx")
    make_doc(app, db_session, who="paca", region="93", title="PACA 2025", year=2025, filename="d.docx")
    auth.login("idf")
    response = client.get("/documents/export.zip?year=2025", buffered=True)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    archive_zip = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive_zip.namelist()
    assert "manifeste.csv" in names and len(names) == 3
    raw = archive_zip.read("manifeste.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["numéro", "titre", "type"]
    by_id = {int(r[0]): r for r in rows[1:]}
    assert set(by_id) == {a.id, b.id}
    assert by_id[a.id][1] == "'=HYPERLINK(\"http://x\")"  # no formula run by Excel
    assert by_id[a.id][15] == "Note ; avec point-virgule\net retour"
    member = by_id[b.id][17]
    assert archive_zip.read(member) == store_of(app).local_path(b.current.sha256).read_bytes()
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.export"))
    assert event.details["documents"] == 2
    # Bounded: beyond the limit the user is asked to narrow the filters.
    monkeypatch.setattr("intranet.library.export.MAX_EXPORT_DOCUMENTS", 1)
    response = client.get("/documents/export.zip?year=2025", buffered=True)
    assert response.status_code == 422 and "Affinez les filtres" in text(response)


def test_views_and_downloads_are_audited(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    doc = make_doc(app, db_session, title="Audité")
    auth.login("idf")
    client.get(f"/documents/{doc.id}")
    client.get(f"/documents/{doc.id}/versions/1/telecharger", buffered=True)
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "document",
                                                                  AuditEvent.object_id == str(doc.id))
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["document.upload", "document.view", "document.download"]
    # Regional staff see the changes of the document; admins also see who consulted it.
    page = text(client.get(f"/documents/{doc.id}"))
    history = page.split('id="history-title"')[1]
    assert "a déposé le document" in history and "a téléchargé" not in history
    auth.logout()
    auth.login("admin")
    history = text(client.get(f"/documents/{doc.id}")).split('id="history-title"')[1]
    assert "Idf a téléchargé la version 1" in history and "idf@test.fr" in history


def test_form_errors_are_in_french(client: Any, auth: AuthActions, db_session: Any) -> None:
    auth.login("idf")
    response = post_upload(client, auth, [(sf.make_docx(["x"]), "x.docx")], region="93", year="deux mille",
                           signature_date="hier")
    html = text(response)
    assert response.status_code == 422
    assert "N&#39;est pas un choix valide" in html and "N&#39;est pas un entier valide" in html
    assert "N&#39;est pas une date valide" in html
    assert "Not a valid" not in html


def test_document_posts_without_csrf_change_nothing(client: Any, auth: AuthActions, db_session: Any,
                                                    app: Any) -> None:
    """CSRF on the document's own forms."""
    doc = make_doc(app, db_session, title="Protégée")
    other = make_doc(app, db_session, title="Autre", filename="autre.docx")
    before = _snapshot(db_session, doc.id)
    auth.login("idf")
    for url, data in [
        (f"/documents/{doc.id}/modifier", {"title": "Changé", "doc_type": "convention", "region": "11",
                                           "status": "signe"}),
        (f"/documents/{doc.id}/versions", {"file": (io.BytesIO(sf.make_pdf(["v2"])), "v2.pdf")}),
        (f"/documents/{doc.id}/corbeille", {}),
        (f"/documents/{doc.id}/liens", {"link_type": "modifie", "target_id": str(other.id)}),
    ]:
        response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code == 400, url
        assert _snapshot(db_session, doc.id) == before, url
