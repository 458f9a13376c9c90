"""Locked records through every edge: web pages, the JSON API and the ``intranet`` CLI.

A refusal answers 409 (web: the page with the French message; API: a JSON error; CLI: exit
code 2 and « Erreur : … ») and leaves the database exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive, locking
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.minutes import approve_minutes, submit_minutes, upload_minutes
from documents.models import AuditEvent, Document
from documents.storage import LocalStorage
from testkit import AuthActions, committee, file_builtin_models, user, with_committees

API = "/api/v1"


def store_of(app: Any) -> LocalStorage:
    return LocalStorage(app.config["STORAGE_DIR"])


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def make_doc(app: Any, session: Any, title: str, *, who: str = "idf", region: str | None = "11",
             doc_type: str = "convention", status: str = "signe") -> Document:
    path = Path(app.config["DATA_DIR"]) / f"in-{title}.docx"
    path.write_bytes(sf.make_docx([f"{title} : texte du document"]))
    try:
        doc = archive.archive_document(session, store_of(app), actor=user(session, who), path=path,
                                       filename=f"{title}.docx", meta=archive.Metadata(
                                           title=title, doc_type=doc_type, region_code=region, year=2024,
                                           status=status, signature_date=dt.date(2024, 3, 4)))
        session.commit()  # the test is the edge of this change
        return doc
    finally:
        path.unlink()


def snapshot(session: Any, doc_id: int) -> tuple[Any, ...]:
    session.expire_all()
    doc = session.get(Document, doc_id)
    return (doc.title, doc.doc_type, doc.region_code, doc.year, doc.status, doc.signature_date,
            doc.keywords, len(doc.versions), doc.deleted_at, doc.unlocked_at, doc.unlock_reason)


def audit_actions(session: Any, doc_id: int) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "document", AuditEvent.object_id == str(doc_id),
        AuditEvent.action.not_in(["document.view", "document.download"])).order_by(AuditEvent.id)))


def form(doc: Document, **changes: Any) -> dict[str, Any]:
    """The edit form as the browser posts it, with ``changes``."""
    data = {"title": doc.title, "doc_type": doc.doc_type, "region": doc.region_code or "national",
            "year": str(doc.year or ""), "status": doc.status,
            "signature_date": doc.signature_date.isoformat() if doc.signature_date else "",
            "keywords": doc.keywords, "notes": doc.notes}
    data.update(changes)
    return data


# --------------------------------------------------------------------------- web


def test_web_refuses_version_trash_and_legal_changes_of_a_signed_convention(
        client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    doc = make_doc(app, db_session, "Convention DRAC 2024")
    before = snapshot(db_session, doc.id)
    auth.login("idf")
    page = text(client.get(f"/documents/{doc.id}"))
    assert "Document verrouillé" in page and "convention signée" in page
    assert "Mettre à la corbeille" not in page and "Ajouter la version" not in page
    assert "Déverrouiller" not in page, "only administrators see the unlock form"
    token = auth.token("/")

    refused = client.post(f"/documents/{doc.id}/versions", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(sf.make_docx(["Version 2"])), "v2.docx")})
    assert refused.status_code == 409 and "verrouillé (convention signée)" in text(refused)
    refused = client.post(f"/documents/{doc.id}/corbeille", data={"csrf_token": token})
    assert refused.status_code == 409 and "ne peut pas être mis à la corbeille" in text(refused)
    refused = client.post(f"/documents/{doc.id}/modifier", data={"csrf_token": token, **form(
        doc, status="archive", year="2025", title="Titre changé aussi")})
    assert refused.status_code == 409
    assert "informations juridiques ne changent plus (année, statut)" in text(refused)
    assert snapshot(db_session, doc.id) == before
    assert audit_actions(db_session, doc.id) == ["document.upload"]

    edited = client.post(f"/documents/{doc.id}/modifier", data={"csrf_token": token, **form(
        doc, title="Convention DRAC 2024 – exemplaire signé", keywords="cinéma, été")})
    assert edited.status_code == 302
    db_session.expire_all()
    doc = db_session.get(Document, doc.id)
    assert (doc.title, doc.keywords, doc.status, doc.year) == (
        "Convention DRAC 2024 – exemplaire signé", "cinéma, été", "signe", 2024)
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.metadata"))
    assert set(event.details["changed"]) == {"title", "keywords"}


def test_web_admin_unlocks_with_a_reason_then_relocks(client: Any, auth: AuthActions, db_session: Any,
                                                      app: Any) -> None:
    doc = make_doc(app, db_session, "Avenant signé", doc_type="avenant")
    before = snapshot(db_session, doc.id)
    auth.login("national")
    token = auth.token("/")
    assert client.post(f"/documents/{doc.id}/deverrouiller", data={"csrf_token": token,
                                                                   "reason": "x"}).status_code == 403
    auth.logout()
    auth.login("admin")
    assert "Motif du déverrouillage" in text(client.get(f"/documents/{doc.id}"))
    token = auth.token("/")
    assert client.post(f"/documents/{doc.id}/deverrouiller", data={"reason": "Sans jeton"}).status_code == 400
    missing = client.post(f"/documents/{doc.id}/deverrouiller", data={"csrf_token": token, "reason": "  "})
    assert missing.status_code == 422 and "Indiquez le motif du déverrouillage." in text(missing)
    assert snapshot(db_session, doc.id) == before

    done = client.post(f"/documents/{doc.id}/deverrouiller", data={"csrf_token": token,
                                                                   "reason": "Montant erroné à corriger"})
    assert done.status_code == 302
    page = text(client.get(f"/documents/{doc.id}"))
    assert "Document déverrouillé" in page and "« Montant erroné à corriger »" in page and "Reverrouiller" in page
    added = client.post(f"/documents/{doc.id}/versions", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(sf.make_docx(["Avenant corrigé"])), "v2.docx")})
    assert added.status_code == 302
    assert client.post(f"/documents/{doc.id}/verrouiller", data={"csrf_token": token}).status_code == 302
    assert "Document verrouillé" in text(client.get(f"/documents/{doc.id}"))
    refused = client.post(f"/documents/{doc.id}/corbeille", data={"csrf_token": token})
    assert refused.status_code == 409
    assert audit_actions(db_session, doc.id) == ["document.upload", "document.unlock", "document.version",
                                                 "document.lock"]
    history = text(client.get(f"/documents/{doc.id}"))
    assert "a déverrouillé le document" in history and "a reverrouillé le document" in history


def test_web_model_source_cannot_be_trashed(client: Any, auth: AuthActions, db_session: Any, app: Any) -> None:
    models = file_builtin_models(app, db_session)
    slug, doc_id = sorted(models.items())[0]
    auth.login("admin")
    page = text(client.get(f"/documents/{doc_id}"))
    assert "source du modèle de rédaction" in page and "Mettre à la corbeille" not in page
    refused = client.post(f"/documents/{doc_id}/corbeille", data={"csrf_token": auth.token("/")})
    assert refused.status_code == 409 and f"({slug})" in text(refused)
    db_session.expire_all()
    assert not db_session.get(Document, doc_id).in_trash


def test_a_model_source_takes_a_new_version_only_through_the_model_page(client: Any, auth: AuthActions,
                                                                          db_session: Any, app: Any) -> None:
    from documents import drafting
    from documents.models import DocumentVersion

    models = file_builtin_models(app, db_session)
    slug, doc_id = "avenant", models["avenant"]
    auth.login("admin")
    token = auth.token("/")
    # A PDF, or any file, filed as a plain version would break the model (and the list of models) for everyone.
    for name, data in (("scan.pdf", sf.make_pdf(["Scan"])), ("avenant.docx", sf.make_docx(["Sans champs"]))):
        refused = client.post(f"/documents/{doc_id}/versions", content_type="multipart/form-data",
                              data={"csrf_token": token, "file": (io.BytesIO(data), name)})
        assert refused.status_code == 409 and "depuis la page du modèle" in text(refused) and f"({slug})" in text(refused)
    db_session.expire_all()
    assert db_session.scalars(select(DocumentVersion.number).where(DocumentVersion.document_id == doc_id)).all() == [1]
    assert client.get("/api/v1/templates", headers={"Accept": "application/json"}).status_code == 200
    # A model already broken (a version filed before this rule) leaves the others listed.
    path = sf.write_sample(Path(app.config["DATA_DIR"]) / "in" / "broken.pdf", sf.make_pdf(["Pas un modèle"]))
    archive.add_version(db_session, store_of(app), db_session.get(Document, doc_id), actor=user(db_session, "admin"),
                        path=path, filename="broken.pdf", checked_model=True)
    db_session.commit()
    listed = {t.slug for t in drafting.list_templates(db_session, store_of(app))}
    assert slug not in listed and set(models) - {slug} <= listed
    page = client.get("/modeles/")
    assert page.status_code == 200


def test_web_regional_staff_restore_own_trash_only_and_never_purge(client: Any, auth: AuthActions,
                                                                   db_session: Any, app: Any) -> None:
    mine = make_doc(app, db_session, "Bilan IDF", doc_type="bilan", status="brouillon")
    theirs = make_doc(app, db_session, "Bilan PACA", who="paca", region="93", doc_type="bilan", status="brouillon")
    archive.trash_document(db_session, mine, actor=user(db_session, "idf"))
    db_session.commit()
    archive.trash_document(db_session, theirs, actor=user(db_session, "paca"))
    db_session.commit()
    auth.login("idf")
    trash = text(client.get("/documents/corbeille"))
    assert "Bilan IDF" in trash and "Bilan PACA" not in trash and "Purger" not in trash
    token = auth.token("/")
    assert client.post(f"/documents/{theirs.id}/restaurer", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/documents/{mine.id}/purger", data={"csrf_token": token, "confirm": "y"}).status_code == 403
    assert client.post(f"/documents/{mine.id}/restaurer", data={"csrf_token": token}).status_code == 302
    db_session.expire_all()
    assert not db_session.get(Document, mine.id).in_trash and db_session.get(Document, theirs.id).in_trash
    auth.logout()
    auth.login("lecteur_idf")
    assert client.get("/documents/corbeille").status_code == 403


# --------------------------------------------------------------------------- API


@pytest.fixture
def api(app: Any, db_session: Any) -> Any:
    """``api("idf")``: a test client sending that user's fresh personal token."""
    from documents import accounts

    def make(who: str) -> Any:
        _token, plaintext = accounts.create_token(db_session, user(db_session, who), "tests")
        db_session.commit()
        client = app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {plaintext}"
        return client

    return make


def approved_meeting(app: Any, session: Any) -> Any:
    """A regional meeting whose uploaded minutes the committee approved."""
    with_committees(session)
    idf = user(session, "idf")
    meeting = schedule_meeting(session, committee(session, "regional-11"), actor=idf, data=MeetingInput(
        starts_at=dt.datetime(2026, 3, 12, 13, tzinfo=dt.UTC), title="Comité de printemps",
        place="DRAC, Paris", agenda=["Bilan"]))
    session.commit()
    path = Path(app.config["DATA_DIR"]) / "cr.docx"
    path.write_bytes(sf.make_docx(["Compte rendu : les projets sont validés."]))
    upload_minutes(session, store_of(app), meeting, actor=idf, path=path, filename="cr.docx")
    session.commit()
    submit_minutes(session, meeting, actor=idf)
    session.commit()
    approve_minutes(session, meeting, actor=idf)
    session.commit()
    return meeting


def test_api_approved_minutes_refuse_delete_version_and_legal_patch(app: Any, api: Any, db_session: Any) -> None:
    meeting = approved_meeting(app, db_session)
    doc_id = meeting.minutes_document_id
    before = snapshot(db_session, doc_id)
    national = api("national")
    body = national.get(f"{API}/documents/{doc_id}").get_json()
    assert body["lock"] == {"locked": True, "reason": "compte rendu approuvé", "unlocked_at": None,
                            "unlocked_by": None, "unlock_reason": None}

    deleted = national.delete(f"{API}/documents/{doc_id}")
    assert deleted.status_code == 409 and "compte rendu approuvé" in deleted.get_json()["error"]["message"]
    version = national.post(f"{API}/documents/{doc_id}/versions", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(sf.make_docx(["Autre"])), "autre.docx")})
    assert version.status_code == 409 and "nouvelle version" in version.get_json()["error"]["message"]
    patched = national.patch(f"{API}/documents/{doc_id}", json={"status": "brouillon", "region": "93",
                                                                "title": "Autre titre"})
    assert patched.status_code == 409
    assert set(patched.get_json()["error"]["fields"]) == {"status", "region"}
    assert snapshot(db_session, doc_id) == before
    db_session.expire_all()
    assert db_session.get(type(meeting), meeting.id).minutes_document_id == doc_id

    renamed = national.patch(f"{API}/documents/{doc_id}", json={"title": "CR comité de printemps 2026"})
    assert renamed.status_code == 200 and renamed.get_json()["title"] == "CR comité de printemps 2026"
    assert audit_actions(db_session, doc_id)[-1] == "document.metadata"


def test_api_unlock_and_lock(app: Any, api: Any, db_session: Any) -> None:
    doc = make_doc(app, db_session, "Contrat d'objectifs", doc_type="contrat_objectifs")
    before = snapshot(db_session, doc.id)
    assert api("national").post(f"{API}/documents/{doc.id}/unlock", json={"reason": "x"}).status_code == 403
    admin = api("admin")
    missing = admin.post(f"{API}/documents/{doc.id}/unlock", json={})
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    assert admin.post(f"{API}/documents/{doc.id}/unlock", json={"reason": 12}).status_code == 422
    assert admin.post(f"{API}/documents/{doc.id}/lock").status_code == 409
    assert snapshot(db_session, doc.id) == before

    unlocked = admin.post(f"{API}/documents/{doc.id}/unlock", json={"reason": "Date d'effet erronée"})
    assert unlocked.status_code == 200
    lock = unlocked.get_json()["lock"]
    assert (lock["locked"], lock["unlock_reason"], lock["unlocked_by"]) == (False, "Date d'effet erronée", "Admin")
    fixed = api("idf").patch(f"{API}/documents/{doc.id}", json={"effective_date": "2024-04-01"})
    assert fixed.status_code == 200 and fixed.get_json()["effective_date"] == "2024-04-01"
    relocked = admin.post(f"{API}/documents/{doc.id}/lock")
    assert relocked.status_code == 200 and relocked.get_json()["lock"]["locked"] is True
    assert api("idf").patch(f"{API}/documents/{doc.id}", json={"effective_date": "2024-05-01"}).status_code == 409
    assert audit_actions(db_session, doc.id) == ["document.upload", "document.unlock", "document.metadata",
                                                 "document.lock"]


def test_api_model_source_and_restore_scope(app: Any, api: Any, db_session: Any) -> None:
    models = file_builtin_models(app, db_session)
    slug, model_id = sorted(models.items())[0]
    refused = api("admin").delete(f"{API}/documents/{model_id}")
    assert refused.status_code == 409 and f"({slug})" in refused.get_json()["error"]["message"]
    # Every draft still finds its model.
    assert api("idf").get(f"{API}/templates").status_code == 200
    db_session.expire_all()
    assert not db_session.get(Document, model_id).in_trash

    mine = make_doc(app, db_session, "Bilan IDF", doc_type="bilan", status="brouillon")
    theirs = make_doc(app, db_session, "Bilan PACA", who="paca", region="93", doc_type="bilan", status="brouillon")
    assert api("idf").delete(f"{API}/documents/{mine.id}").status_code == 200
    assert api("paca").delete(f"{API}/documents/{theirs.id}").status_code == 200
    assert api("idf").post(f"{API}/documents/{theirs.id}/restore").status_code == 404
    assert api("lecteur_idf").post(f"{API}/documents/{mine.id}/restore").status_code == 403
    restored = api("idf").post(f"{API}/documents/{mine.id}/restore")
    assert restored.status_code == 200 and restored.get_json()["in_trash"] is False
    assert api("idf").post(f"{API}/documents/{mine.id}/restore").status_code == 404, "no longer in the trash"
    db_session.expire_all()
    assert db_session.get(Document, theirs.id).in_trash


# --------------------------------------------------------------------------- CLI


def test_cli_trash_unlock_lock_restore(app: Any, runner: Any, db_session: Any) -> None:
    doc = make_doc(app, db_session, "Protocole signé", doc_type="protocole")
    before = snapshot(db_session, doc.id)
    refused = runner.invoke(args=["trash", str(doc.id), "--as", "idf@test.fr"])
    assert refused.exit_code == 2 and "Erreur : Ce document est verrouillé (protocole signé)" in refused.output
    refused = runner.invoke(args=["unlock", str(doc.id), "--reason", "Pour voir", "--as", "idf@test.fr"])
    assert refused.exit_code == 2 and "Seuls les administrateurs" in refused.output
    refused = runner.invoke(args=["unlock", str(doc.id), "--reason", " "])
    assert refused.exit_code == 2 and "motif" in refused.output
    assert runner.invoke(args=["unlock", str(doc.id)]).exit_code != 0, "--reason is required"
    assert snapshot(db_session, doc.id) == before

    done = runner.invoke(args=["unlock", str(doc.id), "--reason", "Protocole annulé et remplacé"])
    assert done.exit_code == 0, done.output
    assert runner.invoke(args=["lock", str(doc.id)]).exit_code == 0
    assert runner.invoke(args=["trash", str(doc.id), "--as", "idf@test.fr"]).exit_code == 2
    assert runner.invoke(args=["unlock", str(doc.id), "--reason", "Protocole annulé"]).exit_code == 0
    assert runner.invoke(args=["trash", str(doc.id), "--as", "idf@test.fr"]).exit_code == 0
    other = runner.invoke(args=["restore", str(doc.id), "--as", "paca@test.fr"])
    assert other.exit_code == 2 and f"Aucun document n° {doc.id} dans la corbeille" in other.output
    assert runner.invoke(args=["restore", str(doc.id), "--as", "idf@test.fr"]).exit_code == 0
    assert runner.invoke(args=["restore", "99999999999"]).exit_code != 0
    db_session.expire_all()
    assert not db_session.get(Document, doc.id).in_trash
    assert audit_actions(db_session, doc.id) == ["document.upload", "document.unlock", "document.lock",
                                                 "document.unlock", "document.trash", "document.restore"]
    assert locking.lock_reason(db_session, db_session.get(Document, doc.id)) == "protocole signé"
