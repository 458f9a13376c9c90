"""Documents API: file, list, read, describe, version, download, trash — and the rules: another region's
documents invisible and unchangeable, no count leaks, failing checks deny, 413 on oversized uploads, hostile
file names."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import samplefiles as sf
import testkit
from documents import accounts
from documents.archive import Metadata, archive_document
from documents.models import AuditEvent, Document, DocumentVersion, Organisation, Quartier
from intranet.extensions import storage

API = "/api/v1"


class Api:
    """A client speaking to the API as one user, with a personal token."""

    def __init__(self, client: Any, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(API + path, headers=self.headers, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(API + path, headers=self.headers, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.client.patch(API + path, headers=self.headers, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(API + path, headers=self.headers, **kw)


@pytest.fixture
def api(app, db_session):
    """``api("idf")``: an API client with a fresh token of that standard user."""
    def make(who: str) -> Api:
        _token, plaintext = accounts.create_token(db_session, testkit.user(db_session, who), "tests")
        db_session.commit()
        return Api(app.test_client(), plaintext)

    return make


def upload(data: bytes, name: str = "convention.docx", **fields: Any) -> dict[str, Any]:
    return {"file": (io.BytesIO(data), name), **fields}


def docx(text: str) -> bytes:
    return sf.make_docx([text])


@pytest.fixture
def filed(app, db_session, tmp_path):
    """``filed(region, title)``: a document archived directly through the domain, as admin."""
    def make(region: str | None, title: str, *, doc_type: str = "convention", year: int = 2010,
             status: str = "brouillon") -> Document:
        path = sf.write_sample(tmp_path / "seed" / f"{title}.docx", docx(f"{title} — texte"))
        with app.app_context():
            return archive_document(db_session, storage(), actor=testkit.user(db_session, "admin"), path=path,
                                    filename=f"{title}.docx", meta=Metadata(title=title, doc_type=doc_type,
                                                                            region_code=region, year=year,
                                                                            status=status))

    return make


def count(db_session) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(Document)) or 0


def stored(app) -> set[str]:
    with app.app_context():
        return set(storage().keys())


def denials(db_session, document_id: int) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "access.denied", AuditEvent.object_id == str(document_id))) or 0


# ------------------------------------------------------------------ create


def test_create_with_every_field(app, api, db_session) -> None:
    org = db_session.scalars(select(Organisation).order_by(Organisation.id)).first()
    quartier = db_session.scalars(select(Quartier).where(Quartier.region_code == "11")).first()
    data = docx("Convention DRAC Île-de-France 2010")
    response = api("idf").post("/documents", data=upload(
        data, "Convention DRAC.docx", title="Convention DRAC 2010", type="convention", region="11", year="2010",
        status="signe", signature_date="2010-01-15", effective_date="2010-02-01", end_date="2010-12-31",
        duration_months="11", tacit_renewal="true", notice_months="3", keywords="financement, éducation",
        notes="Signée à Paris", parties=org.slug, quartiers=quartier.code, comment="Version signée"),
        content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"{API}/documents/{body['id']}"
    expected = {
        "title": "Convention DRAC 2010", "type": "convention", "region": "11", "year": 2010, "status": "signe",
        "signature_date": "2010-01-15", "effective_date": "2010-02-01", "end_date": "2010-12-31",
        "duration_months": 11, "tacit_renewal": True, "notice_months": 3, "keywords": ["financement", "éducation"],
        "notes": "Signée à Paris", "quartiers": [quartier.code], "current_version": 1, "in_trash": False,
    }
    assert {k: body[k] for k in expected} == expected
    assert [p["slug"] for p in body["parties"]] == [org.slug]
    version = body["versions"][0]
    assert (version["filename"], version["size"], version["comment"]) == ("Convention DRAC.docx", len(data),
                                                                          "Version signée")
    assert version["text_status"] == "ok" and version["created_by"] == "idf@test.fr"
    doc = db_session.get(Document, body["id"])
    assert doc.current.text and "Île-de-France" in doc.current.text
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.upload"))
    assert event.actor_email == "idf@test.fr" and event.object_id == str(doc.id)


def test_defaults_title_from_file_and_region_from_regional_account(app, api, db_session) -> None:
    response = api("paca").post("/documents", data=upload(docx("Bilan"), "Bilan_regional_2011.docx"))
    assert response.status_code == 201
    body = response.get_json()
    assert (body["title"], body["region"], body["type"], body["status"]) == (
        "Bilan regional 2011", "93", "autre", "brouillon")


def test_an_untitled_upload_takes_the_documents_own_title_before_its_file_name(app, api) -> None:
    """Through the API as through the web form: core properties, then the first heading, then the name."""
    client = api("idf")
    titled = sf.make_docx(["Corps du texte"], core_title="Convention Île-de-France 2026 & avenant")
    body = client.post("/documents", data=upload(titled, "scan_0042.docx")).get_json()
    assert body["title"] == "Convention Île-de-France 2026 & avenant"
    typed = client.post("/documents", data=upload(sf.make_docx(["Autre texte"], core_title="Titre interne"),
                                                 "autre.docx", title="Titre saisi")).get_json()
    assert typed["title"] == "Titre saisi"


def test_duplicate_names_the_existing_document_only_to_who_may_see_it(app, api, db_session, filed) -> None:
    data = docx("Convention unique")
    first = api("idf").post("/documents", data=upload(data, region="11"))
    assert first.status_code == 201
    again = api("idf").post("/documents", data=upload(data, "copie.docx", region="11"))
    assert again.status_code == 409
    assert again.get_json()["error"]["document_id"] == first.get_json()["id"]
    other = api("paca").post("/documents", data=upload(data, "copie.docx"))
    assert other.status_code == 409
    assert "document_id" not in other.get_json()["error"]
    assert "auquel vous n'avez pas accès" in other.get_json()["error"]["message"]
    assert count(db_session) == 1


def test_bad_input_gives_french_field_errors_and_changes_nothing(app, api, db_session) -> None:
    client = api("admin")
    response = client.post("/documents", data=upload(
        docx("X"), type="roman", year="deux mille", region="99", end_date="31 février", status="fini",
        parties="organisation-inconnue"))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert set(error["fields"]) == {"type", "year", "region", "end_date", "status", "parties"}
    assert error["message"] == "Certaines informations du document sont invalides."
    # Errors found by the domain come back under the API's field names.
    later = client.post("/documents", data=upload(docx("Y"), effective_date="2011-01-01", end_date="2010-01-01",
                                                  year="1800"))
    assert later.status_code == 422 and set(later.get_json()["error"]["fields"]) == {"end_date", "year"}
    missing = client.post("/documents", data={"title": "Sans fichier"})
    assert missing.status_code == 422 and "file" in missing.get_json()["error"]["fields"]
    assert count(db_session) == 0 and stored(app) == set()


@pytest.mark.parametrize(("data", "name", "status"), [
    (sf.make_html(), "convention.pdf", 415),
    (sf.make_macro_docx(), "convention.docx", 400),
    (b"", "vide.docx", 400),
    (b"MZ\x90\x00", "outil.exe", 415),
])
def test_rejected_files_store_nothing(app, api, db_session, data: bytes, name: str, status: int) -> None:
    response = api("admin").post("/documents", data=upload(data, name))
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert count(db_session) == 0 and stored(app) == set()


def test_oversized_upload_is_413(app, api, db_session) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = api("admin").post("/documents", data=upload(b"x" * 60_000, "gros.txt"))
    assert response.status_code == 413
    assert "taille maximale" in response.get_json()["error"]["message"]
    assert count(db_session) == 0


@pytest.mark.parametrize("name", [
    "..\\..\\etc\\Convention été – n°2 <script>\x00\t.docx",
    "../../etc/CON.docx",
    "../" + "é" * 300 + ".docx",
])
def test_hostile_file_name_is_stored_safely_and_downloaded_with_rfc6266(app, api, db_session, name: str) -> None:
    """Hostile file names (CR/LF cannot even reach us: a multipart parser stops the name at the line break)."""
    client = api("admin")
    response = client.post("/documents", data=upload(docx(f"Nom piégé {name!r}"), name))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    filename = body["versions"][0]["filename"]
    assert filename.endswith(".docx") and len(filename) <= 200
    assert not any(bad in filename for bad in ("/", "\\", "\x00", "\t", "..")), filename
    assert not filename.upper().startswith("CON.")
    download = client.get(f"/documents/{body['id']}/versions/1/file")
    assert download.status_code == 200
    disposition = download.headers["Content-Disposition"]
    download.close()
    assert disposition.startswith("attachment;") and "\n" not in disposition and "\r" not in disposition
    if not filename.isascii():
        assert "filename*=UTF-8''" in disposition and "%C3%A9" in disposition
    assert stored(app) == set(db_session.scalars(select(DocumentVersion.sha256)))


# ------------------------------------------------------------------ list and read


def test_list_is_scoped_filtered_and_paginated(app, api, db_session, filed) -> None:
    filed("11", "Convention IDF 2010", year=2010, status="signe")
    filed("11", "Bilan IDF 2011", doc_type="bilan", year=2011)
    filed("93", "Convention PACA 2010", year=2010)
    filed(None, "Protocole national", doc_type="protocole", year=2009)
    idf = api("idf")
    everything = idf.get("/documents").get_json()
    assert everything["total"] == 3
    assert {d["title"] for d in everything["items"]} == {"Convention IDF 2010", "Bilan IDF 2011",
                                                         "Protocole national"}
    assert idf.get("/documents?region=93").get_json()["total"] == 0  # no count leaks
    assert idf.get("/documents?q=paca").get_json()["total"] == 0
    assert [d["title"] for d in idf.get("/documents?type=convention").get_json()["items"]] == ["Convention IDF 2010"]
    assert [d["title"] for d in idf.get("/documents?year=2011").get_json()["items"]] == ["Bilan IDF 2011"]
    assert [d["title"] for d in idf.get("/documents?status=signe").get_json()["items"]] == ["Convention IDF 2010"]
    assert [d["title"] for d in idf.get("/documents?region=national").get_json()["items"]] == ["Protocole national"]
    assert [d["title"] for d in idf.get("/documents?q=BILAN idf").get_json()["items"]] == ["Bilan IDF 2011"]
    page = idf.get("/documents?per_page=2&page=2").get_json()
    assert (page["total"], page["pages"], page["page"], len(page["items"])) == (3, 2, 2, 1)
    assert api("national").get("/documents").get_json()["total"] == 4
    bad = idf.get("/documents?type=roman&year=x")
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"type", "year"}


def test_title_search_takes_accents_and_wildcards_literally(app, api, db_session, filed) -> None:
    filed("11", "Convention Île-de-France 2012")
    filed("11", "Bilan à 100_pourcent")
    idf = api("idf")
    assert [d["title"] for d in idf.get("/documents?q=Île").get_json()["items"]] == ["Convention Île-de-France 2012"]
    assert idf.get("/documents?q=%25").get_json()["total"] == 0
    assert [d["title"] for d in idf.get("/documents?q=100_").get_json()["items"]] == ["Bilan à 100_pourcent"]
    assert idf.get("/documents?q=0_p").get_json()["total"] == 1 and idf.get("/documents?q=0xp").get_json()["total"] == 0


def test_read_own_and_national_document(app, api, db_session, filed) -> None:
    own = filed("11", "Convention IDF")
    national = filed(None, "Protocole")
    client = api("lecteur_idf")
    response = client.get(f"/documents/{own.id}")
    assert response.status_code == 200 and response.get_json()["title"] == "Convention IDF"
    assert client.get(f"/documents/{national.id}").status_code == 200
    views = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "document.view")).all()
    assert {e.object_id for e in views} == {str(own.id), str(national.id)}
    assert client.get("/documents/999999").status_code == 404


def test_other_region_is_404_everywhere_with_denial_logged(app, api, db_session, filed) -> None:
    """Another region's document is invisible and unchangeable: read, download, describe, version, delete a
    PACA document as Île-de-France."""
    doc = filed("93", "Convention PACA")
    before = Metadata.of(doc)
    files_before = stored(app)
    client = api("idf")
    attempts = [
        client.get(f"/documents/{doc.id}"),
        client.get(f"/documents/{doc.id}/versions/1/file"),
        client.patch(f"/documents/{doc.id}", json={"title": "Piraté", "region": "11"}),
        client.post(f"/documents/{doc.id}/versions", data=upload(docx("Version pirate"))),
        client.delete(f"/documents/{doc.id}"),
    ]
    for response in attempts:
        assert response.status_code == 404
        assert b"Convention PACA" not in response.data and not response.data.startswith(b"PK")
    assert denials(db_session, doc.id) == len(attempts)
    db_session.expire_all()
    after = db_session.get(Document, doc.id)
    assert Metadata.of(after) == before and not after.in_trash and len(after.versions) == 1
    assert stored(app) == files_before


def test_posting_another_region_is_refused_with_nothing_written(app, api, db_session, filed) -> None:
    """No writing outside one's regions: a posted ``region`` of another region, on create and on update."""
    response = api("idf").post("/documents", data=upload(docx("Pour PACA"), region="93"))
    assert response.status_code == 403
    assert count(db_session) == 0 and stored(app) == set()
    own = filed("11", "Convention IDF")
    moved = api("idf").patch(f"/documents/{own.id}", json={"region": "93", "title": "Déplacée"})
    assert moved.status_code == 403
    db_session.expire_all()
    assert (db_session.get(Document, own.id).region_code, db_session.get(Document, own.id).title) == (
        "11", "Convention IDF")
    national = filed(None, "Protocole")
    assert api("idf").patch(f"/documents/{national.id}", json={"title": "x"}).status_code == 403
    assert api("idf").delete(f"/documents/{national.id}").status_code == 403


def test_lecteur_cannot_write(app, api, db_session, filed) -> None:
    doc = filed("11", "Convention IDF")
    client = api("lecteur_idf")
    assert client.post("/documents", data=upload(docx("Lecteur"), region="11")).status_code == 403
    assert client.patch(f"/documents/{doc.id}", json={"title": "x"}).status_code == 403
    assert client.post(f"/documents/{doc.id}/versions", data=upload(docx("v2"))).status_code == 403
    assert client.delete(f"/documents/{doc.id}").status_code == 403
    db_session.expire_all()
    fresh = db_session.get(Document, doc.id)
    assert (fresh.title, len(fresh.versions), fresh.in_trash, count(db_session)) == (
        "Convention IDF", 1, False, 1)
    download = client.get(f"/documents/{doc.id}/versions/1/file")
    assert download.status_code == 200
    download.close()


def test_broken_account_is_denied(app, api, db_session, filed) -> None:
    """A failing permission check denies: an account whose role is unreadable sees and writes nothing."""
    doc = filed("11", "Convention IDF")
    client = api("idf")
    user = testkit.user(db_session, "idf")
    user.role = "inconnu"
    db_session.commit()
    assert client.get(f"/documents/{doc.id}").status_code == 404
    assert client.get("/documents").get_json()["total"] == 0
    assert client.post("/documents", data=upload(docx("x"), region="11")).status_code == 403
    assert count(db_session) == 1


# ------------------------------------------------------------------ change


def test_patch_changes_only_sent_fields(app, api, db_session, filed) -> None:
    doc = filed("11", "Convention IDF", year=2010)
    # « En signature », not « signé »: a signed convention is locked (tests/intranet/test_locking_api.py).
    response = api("idf").patch(f"/documents/{doc.id}", json={"status": "En signature", "keywords": ["a", "b"],
                                                               "tacit_renewal": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["title"], body["year"], body["status"], body["keywords"], body["tacit_renewal"]) == (
        "Convention IDF", 2010, "en_signature", ["a", "b"], True)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.metadata"))
    assert set(event.details["changed"]) == {"status", "keywords", "tacit_renewal"}
    bad = api("idf").patch(f"/documents/{doc.id}", json={"year": "x", "couleur": "bleu"})
    assert bad.status_code == 422 and "couleur" in bad.get_json()["error"]["fields"]
    form = api("admin").patch(f"/documents/{doc.id}", data={"region": "national", "year": ""})
    assert form.status_code == 200 and (form.get_json()["region"], form.get_json()["year"]) == (None, None)


def test_versions_and_downloads(app, api, db_session, filed) -> None:
    doc = filed("11", "Convention IDF")
    with app.app_context():
        with storage().open(doc.current.sha256) as fh:
            v1_bytes = fh.read()
    client = api("idf")
    v2_bytes = sf.make_pdf(["Convention IDF, version signée"])
    response = client.post(f"/documents/{doc.id}/versions",
                           data=upload(v2_bytes, "Convention signée.pdf", comment="Signée"))
    assert response.status_code == 201
    assert (response.get_json()["number"], response.get_json()["comment"]) == (2, "Signée")
    same = client.post(f"/documents/{doc.id}/versions", data=upload(v2_bytes, "encore.pdf"))
    assert same.status_code == 409
    with client.get(f"/documents/{doc.id}/versions/1/file") as one, \
            client.get(f"/documents/{doc.id}/versions/2/file") as two:
        assert one.data == v1_bytes and two.data == v2_bytes
        assert two.mimetype == "application/pdf"
    assert client.get(f"/documents/{doc.id}/versions/3/file").status_code == 404
    downloads = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "document.download")).all()
    assert sorted(e.details["version"] for e in downloads) == [1, 2]
    assert [v["number"] for v in client.get(f"/documents/{doc.id}").get_json()["versions"]] == [1, 2]


def test_delete_sends_to_trash(app, api, db_session, filed) -> None:
    doc = filed("11", "Convention IDF")
    client = api("idf")
    response = client.delete(f"/documents/{doc.id}")
    assert response.status_code == 200 and response.get_json()["in_trash"] is True
    assert client.get(f"/documents/{doc.id}").status_code == 404
    assert client.get("/documents").get_json()["total"] == 0
    db_session.expire_all()
    kept = db_session.get(Document, doc.id)
    assert kept.in_trash and db_session.scalar(select(func.count()).select_from(DocumentVersion)) == 1
    with app.app_context():
        assert storage().exists(kept.current.sha256), "the trash keeps the bytes"


# ------------------------------------------------------------------ session auth


def test_session_needs_csrf_header_on_writes(app, client, auth, db_session) -> None:
    auth.login("idf")
    refused = client.post(f"{API}/documents", data=upload(docx("Sans jeton"), region="11"))
    assert refused.status_code == 400 and count(db_session) == 0
    token = auth.token("/")
    accepted = client.post(f"{API}/documents", data=upload(docx("Avec jeton"), region="11"),
                           headers={"X-CSRFToken": token})
    assert accepted.status_code == 201
    assert client.get(f"{API}/documents").get_json()["total"] == 1


def test_anonymous_gets_401(client) -> None:
    assert client.get(f"{API}/documents").status_code == 401
    assert client.post(f"{API}/documents", data=upload(docx("x"))).status_code == 401


def test_openapi_describes_every_operation(client) -> None:
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    assert set(paths["/documents"]) == {"get", "post"}
    assert set(paths["/documents/{id}"]) == {"get", "patch", "delete"}
    assert set(paths["/documents/{id}/versions"]) == {"post"}
    assert set(paths["/documents/{id}/versions/{n}/file"]) == {"get"}
    assert "409" in paths["/documents"]["post"]["responses"]


def test_uploads_leave_no_temp_files(app, api, db_session, data_dir: Path) -> None:
    api("admin").post("/documents", data=upload(docx("Temp")))
    api("admin").post("/documents", data=upload(sf.make_html(), "x.pdf"))
    assert list((data_dir / "files" / "tmp").iterdir()) == []
