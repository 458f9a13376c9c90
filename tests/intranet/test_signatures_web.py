"""The signature track on the web (panel, forms, « En signature »), in the API and the CLI; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive, locking
from documents.models import AuditEvent, Document, MailOutbox, SignatureStep
from documents.storage import LocalStorage
from intranet.library.views import today_paris
from testkit import csrf_token, login_client, sqlite_only, user


def file_doc(app: Any, session: Any, tmp_path: Path, title: str, *, region: str | None = "11",
             doc_type: str = "convention", status: str = "brouillon", **meta: Any) -> int:
    path = sf.write_sample(tmp_path / "in" / f"{title}.docx", sf.make_docx([f"{title} : texte"]))
    doc = archive.archive_document(session, LocalStorage(app.config["STORAGE_DIR"]), actor=user(session, "admin"),
                                   path=path, filename=f"{title}.docx",
                                   meta=archive.Metadata(title=title, doc_type=doc_type, region_code=region,
                                                         year=2026, status=status, **meta))
    session.commit()
    return doc.id


def steps(session: Any, doc_id: int) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(SignatureStep.kind).where(SignatureStep.document_id == doc_id)
                                .order_by(SignatureStep.id)))


def pdf_upload(text: str = "Convention signée") -> tuple[io.BytesIO, str]:
    return io.BytesIO(sf.make_pdf([text])), "convention-signee.pdf"


def post(client: Any, url: str, prefix: str, data: dict[str, Any], **kw: Any) -> Any:
    token = csrf_token(client, "/")
    return client.post(url, data={f"{prefix}-csrf_token": token, **{f"{prefix}-{k}": v for k, v in data.items()}},
                       **kw)


def test_a_convention_goes_through_the_forms_to_signed(app: Any, db_session: Any, tmp_path: Path) -> None:
    doc_id = file_doc(app, db_session, tmp_path, "Convention DRAC IDF 2026", duration_months=12)
    client = login_client(app, "idf")
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Circuit de signature" in page and "Aucune étape enregistrée" in page
    assert 'for="envoi-recipient"' in page and 'id="envoi-date"' in page
    today = today_paris()
    lecteur = user(db_session, "lecteur_idf")
    sent = post(client, f"/signatures/documents/{doc_id}/envoi", "envoi",
                {"recipient": "Coordination régionale <b>IDF</b>", "recipient_user": str(lecteur.id),
                 "date": today.isoformat()})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/documents/{doc_id}#signature")
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Coordination régionale &lt;b&gt;IDF&lt;/b&gt;" in page and "<b>IDF" not in page
    assert "Étape attendue : <strong>Signé par la coordination</strong>" in page
    assert '<input id="sig-step" name="sig-step" type="hidden" value="coordination">' in page
    assert 'name="sig-file"' not in page, "the scan is asked for on the last signature only"
    assert post(client, f"/signatures/documents/{doc_id}/signature", "sig",
                {"step": "coordination", "date": today.isoformat()}).status_code == 302
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'name="sig-file"' in page and 'enctype="multipart/form-data"' in page
    data, name = pdf_upload()
    signed = post(client, f"/signatures/documents/{doc_id}/signature", "sig",
                  {"step": "drac", "date": today.isoformat(), "file": (data, name), "comment": "Original à la DRAC"},
                  content_type="multipart/form-data")
    assert signed.status_code == 302
    db_session.expire_all()
    doc = db_session.get(Document, doc_id)
    assert (doc.status, doc.signature_date, doc.effective_date) == ("signe", today, today)
    assert locking.is_locked(db_session, doc) and doc.current.comment == "Original à la DRAC"
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Signé le" in page and "version signée n° 2" in page and "Document verrouillé" in page
    assert 'action="/signatures/documents' not in page, "no form once signed"
    # The history (as a regional user sees it: changes only) names the steps in French.
    assert "a envoyé le document pour signature" in page and page.count("a enregistré la signature") == 2
    assert "document signé (version 2, scan signé) et verrouillé" in page


def test_a_document_signed_before_the_track_says_so(app: Any, db_session: Any, tmp_path: Path) -> None:
    doc_id = file_doc(app, db_session, tmp_path, "Convention signée en 2019", status="signe",
                      signature_date=dt.date(2019, 5, 2))
    page = login_client(app, "idf").get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Aucune étape du circuit n'a été enregistrée dans l'intranet pour ce document signé le 2 mai 2019" in page
    assert 'action="/signatures/documents' not in page


def test_forms_refuse_bad_input_with_4xx_and_change_nothing(app: Any, db_session: Any, tmp_path: Path) -> None:
    doc_id = file_doc(app, db_session, tmp_path, "Convention à refuser")
    client = login_client(app, "idf")
    url = f"/signatures/documents/{doc_id}"
    today = today_paris()
    # No CSRF token: 400, nothing recorded.
    assert client.post(f"{url}/envoi", data={"envoi-recipient": "DRAC", "envoi-date": today.isoformat()}
                       ).status_code == 400
    future = post(client, f"{url}/envoi", "envoi", {"recipient": "DRAC", "date": (today + dt.timedelta(days=3))
                                                    .isoformat()})
    assert future.status_code == 422 and "ne peut pas être dans le futur" in future.get_data(as_text=True)
    nobody = post(client, f"{url}/envoi", "envoi", {"recipient": "", "date": today.isoformat()})
    assert nobody.status_code == 422 and "Indiquez à qui" in nobody.get_data(as_text=True)
    garbage = post(client, f"{url}/envoi", "envoi", {"recipient": "DRAC", "date": "31/02/2026"})
    assert garbage.status_code == 422
    huge = post(client, f"{url}/envoi", "envoi", {"recipient": "DRAC", "recipient_user": "9" * 40,
                                                  "date": today.isoformat()})
    assert huge.status_code == 422
    nul = post(client, f"{url}/envoi", "envoi", {"recipient": "DRAC\x00", "date": today.isoformat()})
    assert nul.status_code in (400, 422)
    assert steps(db_session, doc_id) == []
    # Wrong order: the DRAC before the coordination.
    assert post(client, f"{url}/envoi", "envoi", {"recipient": "DRAC", "date": today.isoformat()}).status_code == 302
    data, name = pdf_upload()
    early = post(client, f"{url}/signature", "sig", {"step": "drac", "date": today.isoformat(), "file": (data, name)},
                 content_type="multipart/form-data")
    assert early.status_code == 409 and "Étape attendue : « Signé par la coordination »" in early.get_data(as_text=True)
    assert post(client, f"{url}/signature", "sig", {"step": "coordination", "date": today.isoformat()}
                ).status_code == 302
    no_scan = post(client, f"{url}/signature", "sig", {"step": "drac", "date": today.isoformat()})
    assert no_scan.status_code == 422 and "Joignez le scan" in no_scan.get_data(as_text=True)
    fake = post(client, f"{url}/signature", "sig", {"step": "drac", "date": today.isoformat(),
                                                    "file": (io.BytesIO(b"<html><script>x</script></html>"),
                                                             "scan.pdf")}, content_type="multipart/form-data")
    # HTML renamed .pdf: the archive's own check refuses it (415), its message beside the form.
    assert fake.status_code == 415 and 'id="signature-erreur"' in fake.get_data(as_text=True)
    assert not [p for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file() and p.stat().st_size < 100]
    no_reason = post(client, f"{url}/retour", "retour", {"reason": "  "})
    assert no_reason.status_code == 422
    assert steps(db_session, doc_id) == ["envoi", "coordination"]
    assert db_session.get(Document, doc_id).status == "en_signature"
    back = post(client, f"{url}/retour", "retour", {"reason": "Montant à corriger"})
    assert back.status_code == 302 and db_session.get(Document, doc_id).status == "brouillon"


def test_forms_are_scoped_by_role_and_region(app: Any, db_session: Any, tmp_path: Path) -> None:
    doc_id = file_doc(app, db_session, tmp_path, "Convention IDF")
    bilan_id = file_doc(app, db_session, tmp_path, "Bilan IDF", doc_type="bilan")
    today = today_paris().isoformat()
    paca = login_client(app, "paca")
    assert post(paca, f"/signatures/documents/{doc_id}/envoi", "envoi",
                {"recipient": "DRAC", "date": today}).status_code == 404
    lecteur = login_client(app, "lecteur_idf")
    assert post(lecteur, f"/signatures/documents/{doc_id}/envoi", "envoi",
                {"recipient": "DRAC", "date": today}).status_code == 403
    assert 'action="/signatures/documents' not in lecteur.get(f"/documents/{doc_id}").get_data(as_text=True)
    idf = login_client(app, "idf")
    assert "Circuit de signature" not in idf.get(f"/documents/{bilan_id}").get_data(as_text=True)
    refused = post(idf, f"/signatures/documents/{bilan_id}/envoi", "envoi", {"recipient": "DRAC", "date": today})
    assert refused.status_code == 422 and "Seuls les conventions" in refused.get_data(as_text=True)
    assert steps(db_session, doc_id) == [] and steps(db_session, bilan_id) == []
    denied = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert {e.object_id for e in denied} >= {str(doc_id)}


def test_the_en_signature_page_lists_scoped_and_filtered(app: Any, db_session: Any, tmp_path: Path) -> None:
    idf_id = file_doc(app, db_session, tmp_path, "Convention <script>IDF</script>")
    paca_id = file_doc(app, db_session, tmp_path, "Avenant PACA", region="93", doc_type="avenant")
    today = today_paris()
    from documents import signatures

    signatures.send_for_signature(db_session, db_session.get(Document, idf_id), actor=user(db_session, "idf"),
                                  recipient="DRAC Île-de-France", on=today - dt.timedelta(days=4))
    signatures.send_for_signature(db_session, db_session.get(Document, paca_id), actor=user(db_session, "paca"),
                                  recipient="DRAC PACA", on=today)
    db_session.commit()
    admin = login_client(app, "admin")
    page = admin.get("/signatures/").get_data(as_text=True)
    assert "Convention &lt;script&gt;IDF&lt;/script&gt;" in page and "Avenant PACA" in page
    assert page.index("Convention &lt;script&gt;") < page.index("Avenant PACA"), "the longest wait first"
    assert "4 jours" in page and "DRAC Île-de-France" in page and "Signé par la coordination" in page
    only = admin.get("/signatures/?type=avenant").get_data(as_text=True)
    assert "Avenant PACA" in only and "Convention &lt;script&gt;" not in only
    assert "Avenant PACA" not in admin.get("/signatures/?region=11").get_data(as_text=True)
    assert admin.get("/signatures/?type=bilan").status_code == 400
    assert admin.get("/signatures/?region=zz").status_code == 400
    idf = login_client(app, "idf").get("/signatures/").get_data(as_text=True)
    assert "Convention &lt;script&gt;IDF" in idf and "Avenant PACA" not in idf
    assert login_client(app, "lecteur").get("/signatures/").status_code == 200
    assert app.test_client().get("/signatures/").status_code == 302  # login first


# --------------------------------------------------------------------------- API


def api_client(app: Any, who: str) -> tuple[Any, dict[str, str]]:
    client = login_client(app, who)
    return client, {"X-CSRFToken": csrf_token(client, "/")}


def test_the_api_reads_and_moves_the_track(app: Any, db_session: Any, tmp_path: Path) -> None:
    doc_id = file_doc(app, db_session, tmp_path, "Protocole 2026", region=None, doc_type="protocole")
    client, headers = api_client(app, "national")
    url = f"/api/v1/documents/{doc_id}/signature"
    track = client.get(url).get_json()
    assert (track["status"], track["steps"], track["next"]["step"]) == ("brouillon", [], "envoi")
    # Session writes need the CSRF header.
    assert client.post(url, json={"step": "envoi", "recipient": "MCC"}).status_code == 400
    sent = client.post(url, json={"step": "envoi", "recipient": "Ministère de la culture"}, headers=headers)
    assert sent.status_code == 201 and sent.get_json()["steps"][0]["kind"] == "envoi"
    assert client.post(url, json={"step": "drac"}, headers=headers).status_code == 409
    assert client.post(url, json={"step": "signataire", "signatory": "inconnu"}, headers=headers).status_code == 422
    assert client.post(url, json={"step": "signataire", "signatory": "cnc", "date": "2999-01-01"},
                       headers=headers).status_code == 422
    assert client.post(url, json={"step": "envoi", "bogus": 1}, headers=headers).status_code == 422
    assert client.post(url, json={"step": 12}, headers=headers).status_code == 422
    track = client.get(url).get_json()
    slugs = [o["slug"] for o in track["next"]["signatories"]]
    assert sorted(slugs) == ["acse", "cnc", "hcj-djepva", "mcc-sg", "sg-civ"]
    for slug in slugs[:-1]:
        assert client.post(url, json={"step": "signataire", "signatory": slug}, headers=headers).status_code == 201
    last = client.post(url, json={"step": "signataire", "signatory": slugs[-1]}, headers=headers)
    assert last.status_code == 422 and "file" in last.get_json()["error"]["fields"]
    data, name = pdf_upload("Protocole signé")
    done = client.post(url, data={"step": "signataire", "signatory": slugs[-1], "file": (data, name)},
                       headers=headers, content_type="multipart/form-data")
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["status"] == "signe" and body["next"] is None and body["steps"][-1]["version"] == 2
    assert client.post(url, json={"step": "retour", "reason": "x"}, headers=headers).status_code == 409
    # Another region's reader: 404, the denial logged.
    paca, paca_headers = api_client(app, "paca")
    idf_doc = file_doc(app, db_session, tmp_path, "Convention IDF")
    assert paca.get(f"/api/v1/documents/{idf_doc}/signature").status_code == 404
    assert paca.post(f"/api/v1/documents/{idf_doc}/signature", json={"step": "envoi", "recipient": "x"},
                     headers=paca_headers).status_code == 404
    lecteur, lecteur_headers = api_client(app, "lecteur_idf")
    assert lecteur.post(f"/api/v1/documents/{idf_doc}/signature", json={"step": "envoi", "recipient": "x"},
                        headers=lecteur_headers).status_code == 403
    assert client.get(f"/api/v1/documents/{2**31}/signature").status_code == 404


@sqlite_only
def test_the_openapi_describes_the_signature_operations(app: Any, client: Any, auth: Any) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    ops = spec["paths"]["/documents/{id}/signature"]
    assert set(ops) == {"get", "post"}
    assert {"201", "403", "404", "409", "422"} <= set(ops["post"]["responses"])
    assert set(ops["post"]["requestBody"]["content"]) == {"application/json", "multipart/form-data"}


# --------------------------------------------------------------------------- CLI


def test_the_cli_moves_the_track_and_queues_reminders_once(app: Any, db_session: Any, runner: Any,
                                                          tmp_path: Path) -> None:
    doc_id = file_doc(app, db_session, tmp_path, "Convention CLI")
    today = today_paris()
    sent_on = (today - dt.timedelta(days=20)).isoformat()
    result = runner.invoke(args=["signature", str(doc_id), "envoi", "--to", "DRAC Île-de-France",
                                 "--date", sent_on, "--as", "idf@test.fr"])
    assert result.exit_code == 0, result.output
    assert "Étape attendue : Signé par la coordination" in result.output
    wrong = runner.invoke(args=["signature", str(doc_id), "drac", "--as", "idf@test.fr"])
    assert wrong.exit_code == 2 and "Étape attendue" in wrong.output
    paca = runner.invoke(args=["signature", str(doc_id), "coordination", "--as", "paca@test.fr"])
    assert paca.exit_code == 2 and "Document introuvable" in paca.output
    bad_date = runner.invoke(args=["signature", str(doc_id), "coordination", "--date", "2026-13-01"])
    assert bad_date.exit_code == 2 and "date invalide" in bad_date.output
    assert steps(db_session, doc_id) == ["envoi"]

    reminders = runner.invoke(args=["signature-reminders", "--json"])
    assert reminders.exit_code == 0, reminders.output
    report = json.loads(reminders.output)
    assert (report["sent"], report["documents"]) == (1, [doc_id])
    again = runner.invoke(args=["signature-reminders", "--today", today.isoformat()])
    assert again.exit_code == 0 and "0 mise(s) en file" in again.output
    db_session.expire_all()
    mails = db_session.scalars(select(MailOutbox)).all()
    assert len(mails) == 1 and mails[0].recipients == ["idf@test.fr"]
    assert f"/documents/{doc_id}#signature" in mails[0].body

    scan = sf.write_sample(tmp_path / "scan.pdf", sf.make_pdf(["Convention signée"]))
    assert runner.invoke(args=["signature", str(doc_id), "coordination"]).exit_code == 0
    final = runner.invoke(args=["signature", str(doc_id), "drac", "--scan", str(scan)])
    assert final.exit_code == 0, final.output
    assert f"Document {doc_id} « Convention CLI » : Signé" in final.output
    state = runner.invoke(args=["signature", str(doc_id), "etat"])
    assert "Signé" in state.output and "Signé par la DRAC" in state.output
    assert db_session.get(Document, doc_id).status == "signe"


@sqlite_only
def test_reminder_delays_come_from_the_settings(app: Any, runner: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from intranet.signatures.settings import reminder_days

    assert reminder_days({}, {}) == {"convention": 15, "avenant": 15, "contrat_objectifs": 15, "protocole": 30}
    assert reminder_days({}, {"INTRANET_SIGNATURE_REMINDER_PROTOCOLE": "45"})["protocole"] == 45
    assert reminder_days({"SIGNATURE_REMINDER_DAYS": {"convention": 7}},
                         {"INTRANET_SIGNATURE_REMINDER_CONVENTION": "9"})["convention"] == 7
    monkeypatch.setenv("INTRANET_SIGNATURE_REMINDER_CONVENTION", "quinze")
    bad = runner.invoke(args=["signature-reminders"])
    assert bad.exit_code == 2 and "INTRANET_SIGNATURE_REMINDER_CONVENTION" in bad.output
