"""The signature track: order, type, scope, lock, date feeding, audit, reminders; on SQLite and PostgreSQL.

Real files (the signed scan is a PDF made by fpdf2), real databases; a refusal must leave the
track and the document as they were.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive, locking, signatures
from documents.errors import PermissionDenied, ValidationError
from documents.models import (
    AuditEvent,
    Document,
    DocumentDeadline,
    MailOutbox,
    Organisation,
    SignatureStep,
    User,
)
from documents.storage import LocalStorage
from testkit import user

TODAY = dt.date(2026, 3, 20)


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def file_doc(session: Any, store: LocalStorage, tmp_path: Path, title: str, *, region: str | None = "11",
             doc_type: str = "convention", status: str = "brouillon", **meta: Any) -> Document:
    path = sf.write_sample(tmp_path / f"{title}.docx", sf.make_docx([f"{title} : texte de la convention"]))
    doc = archive.archive_document(session, store, actor=user(session, "admin"), path=path, filename=f"{title}.docx",
                                   meta=archive.Metadata(title=title, doc_type=doc_type, region_code=region,
                                                         year=2026, status=status, **meta))
    session.commit()
    return doc


def scan(tmp_path: Path, text: str = "Convention signée par les deux parties") -> Path:
    return sf.write_sample(tmp_path / "scan" / "convention-signee.pdf", sf.make_pdf([text]))


def steps(session: Any, doc: Document) -> list[tuple[int, int, str]]:
    return [(s.cycle, s.seq, s.kind) for s in session.scalars(
        select(SignatureStep).where(SignatureStep.document_id == doc.id).order_by(SignatureStep.id))]


def actions(session: Any, doc: Document) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "document", AuditEvent.object_id == str(doc.id),
        AuditEvent.action.like("document.signature%")).order_by(AuditEvent.id)))


def send(session: Any, doc: Document, who: str = "idf", on: dt.date = dt.date(2026, 3, 2), **kw: Any) -> Any:
    kw.setdefault("recipient", "Coordination régionale Île-de-France")
    return signatures.send_for_signature(session, doc, actor=user(session, who), on=on, today=TODAY, **kw)


def test_a_convention_goes_through_every_step_to_signed_and_locked(db_session: Any, store: LocalStorage,
                                                                   tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention DRAC 2026", duration_months=12)
    assert signatures.track_of(db_session, doc).next.kind.value == "envoi"
    idf = user(db_session, "idf")
    send(db_session, doc, recipient_user=user(db_session, "lecteur_idf"))
    db_session.commit()
    assert doc.status == "en_signature"
    track = signatures.track_of(db_session, doc)
    assert track.open and track.next.kind.value == "coordination" and not track.next.final
    assert track.sending.signatory == "Coordination régionale Île-de-France"

    signatures.record_signature(db_session, store, doc, actor=idf, kind="coordination", on=dt.date(2026, 3, 9),
                                today=TODAY)
    db_session.commit()
    track = signatures.track_of(db_session, doc)
    assert (track.next.kind.value, track.next.final, track.next.label) == ("drac", True, "Signé par la DRAC")
    assert not locking.is_locked(db_session, doc)

    signatures.record_signature(db_session, store, doc, actor=idf, kind="drac", on=dt.date(2026, 3, 16),
                                scan=scan(tmp_path), filename="convention-signée.pdf", today=TODAY)
    db_session.commit()
    db_session.expire_all()
    doc = db_session.get(Document, doc.id)
    assert doc.status == "signe" and locking.is_locked(db_session, doc)
    # The signature date feeds the date d'effet (there was none) and the stored échéance (12 months).
    assert (doc.signature_date, doc.effective_date) == (dt.date(2026, 3, 16), dt.date(2026, 3, 16))
    echeance = db_session.scalar(select(DocumentDeadline.date).where(
        DocumentDeadline.document_id == doc.id, DocumentDeadline.kind == "echeance", DocumentDeadline.term == 0))
    assert echeance == dt.date(2027, 3, 15)
    # The signed scan is the new, last version, marked as signed, and linked from the step.
    signed = doc.current
    assert (signed.number, signed.kind, signed.filename) == (2, "pdf", "convention-signée.pdf")
    assert signed.origin == {"source": "signature", "signed": True, "cycle": 1}
    assert steps(db_session, doc) == [(1, 1, "envoi"), (1, 2, "coordination"), (1, 3, "drac")]
    last = signatures.track_of(db_session, doc).steps[-1]
    assert last.version_id == signed.id and last.actor_id == idf.id
    assert signatures.track_of(db_session, doc).next is None
    assert actions(db_session, doc) == ["document.signature_send", "document.signature", "document.signature"]
    final = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.signature")
                              .order_by(AuditEvent.id.desc()).limit(1))
    assert final.details == {"step": "drac", "date": "2026-03-16", "cycle": 1, "final": True, "version": 2}
    assert final.actor_id == idf.id
    # Locked: nothing more on the track, no new version.
    with pytest.raises(locking.LockedDocument):
        signatures.return_to_draft(db_session, doc, actor=idf, reason="Erreur", today=TODAY)
    with pytest.raises(locking.LockedDocument):
        archive.add_version(db_session, store, doc, actor=idf, path=scan(tmp_path, "autre"), filename="x.pdf")
    db_session.rollback()


def test_an_explicit_date_d_effet_is_kept(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Avenant 2", doc_type="avenant",
                   effective_date=dt.date(2026, 1, 1), duration_months=24)
    send(db_session, doc)
    signatures.record_signature(db_session, store, doc, actor=user(db_session, "idf"), kind="coordination",
                                on=dt.date(2026, 3, 3), today=TODAY)
    signatures.record_signature(db_session, store, doc, actor=user(db_session, "national"), kind="drac",
                                on=dt.date(2026, 3, 4), scan=scan(tmp_path), today=TODAY)
    db_session.commit()
    assert (doc.signature_date, doc.effective_date) == (dt.date(2026, 3, 4), dt.date(2026, 1, 1))


def test_wrong_order_wrong_dates_and_missing_scan_are_refused_and_change_nothing(
        db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention en ordre")
    idf = user(db_session, "idf")

    def refused(exc: type[Exception], match: str, call: Any, status: int) -> None:
        with pytest.raises(exc, match=match) as info:
            call()
        assert info.value.status == status
        db_session.rollback()

    refused(signatures.SignatureError, "envoyez-le d'abord", lambda: signatures.record_signature(
        db_session, store, doc, actor=idf, kind="coordination", on=dt.date(2026, 3, 1), today=TODAY), 409)
    refused(ValidationError, "à qui", lambda: send(db_session, doc, recipient="  "), 422)
    refused(ValidationError, "futur", lambda: send(db_session, doc, on=dt.date(2026, 3, 21)), 422)
    refused(ValidationError, "caractère nul", lambda: send(db_session, doc, recipient="DRAC\x00"), 422)
    send(db_session, doc)
    db_session.commit()
    refused(signatures.SignatureError, "déjà en signature", lambda: send(db_session, doc), 409)
    refused(signatures.SignatureError, "Étape attendue : « Signé par la coordination »", lambda:
            signatures.record_signature(db_session, store, doc, actor=idf, kind="drac", on=dt.date(2026, 3, 5),
                                        scan=scan(tmp_path), today=TODAY), 409)
    refused(ValidationError, "Étape inconnue", lambda: signatures.record_signature(
        db_session, store, doc, actor=idf, kind="ministre", on=dt.date(2026, 3, 5), today=TODAY), 422)
    refused(ValidationError, "précéder", lambda: signatures.record_signature(
        db_session, store, doc, actor=idf, kind="coordination", on=dt.date(2026, 3, 1), today=TODAY), 422)
    signatures.record_signature(db_session, store, doc, actor=idf, kind="coordination", on=dt.date(2026, 3, 5),
                                today=TODAY)
    db_session.commit()
    refused(ValidationError, "scan", lambda: signatures.record_signature(
        db_session, store, doc, actor=idf, kind="drac", on=dt.date(2026, 3, 6), today=TODAY), 422)
    db_session.expire_all()
    doc = db_session.get(Document, doc.id)
    assert steps(db_session, doc) == [(1, 1, "envoi"), (1, 2, "coordination")]
    assert (doc.status, len(doc.versions), doc.signature_date) == ("en_signature", 1, None)
    assert not any(p.suffix == ".pdf" for p in (tmp_path / "files").rglob("*"))


def test_only_agreements_have_a_track_and_a_signed_one_is_locked(db_session: Any, store: LocalStorage,
                                                                  tmp_path: Path) -> None:
    bilan = file_doc(db_session, store, tmp_path, "Bilan 2025", doc_type="bilan")
    with pytest.raises(ValidationError, match="Seuls les conventions, avenants") as info:
        send(db_session, bilan)
    assert info.value.status == 422
    assert signatures.track_of(db_session, bilan).next is None
    db_session.rollback()
    signed = file_doc(db_session, store, tmp_path, "Convention déjà signée", status="signe")
    with pytest.raises(locking.LockedDocument, match="verrouillé"):
        send(db_session, signed)
    db_session.rollback()
    assert steps(db_session, bilan) == [] and steps(db_session, signed) == []


@pytest.mark.parametrize("who", ["paca", "lecteur_idf", "lecteur"])
def test_only_staff_of_the_region_move_the_track(db_session: Any, store: LocalStorage, tmp_path: Path,
                                                 who: str) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention IDF")
    with pytest.raises(PermissionDenied):
        send(db_session, doc, who=who)
    db_session.rollback()
    send(db_session, doc)
    db_session.commit()
    with pytest.raises(PermissionDenied):
        signatures.return_to_draft(db_session, doc, actor=user(db_session, who), reason="Non", today=TODAY)
    db_session.rollback()
    assert steps(db_session, doc) == [(1, 1, "envoi")]


def test_a_recipient_account_must_see_the_document(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention IDF")
    with pytest.raises(ValidationError, match="ne peut pas consulter"):
        send(db_session, doc, recipient="", recipient_user=user(db_session, "paca"))
    db_session.rollback()
    step = send(db_session, doc, recipient="", recipient_user=user(db_session, "lecteur_idf"))
    assert step.signatory == user(db_session, "lecteur_idf").display_name


def test_return_to_draft_needs_a_reason_and_opens_a_new_cycle(db_session: Any, store: LocalStorage,
                                                              tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention à reprendre")
    idf = user(db_session, "idf")
    with pytest.raises(signatures.SignatureError, match="rien à renvoyer"):
        signatures.return_to_draft(db_session, doc, actor=idf, reason="x", today=TODAY)
    send(db_session, doc)
    with pytest.raises(ValidationError, match="motif"):
        signatures.return_to_draft(db_session, doc, actor=idf, reason=" \n ", today=TODAY)
    signatures.return_to_draft(db_session, doc, actor=idf, reason="Montant\nerroné", today=TODAY)
    db_session.commit()
    assert doc.status == "brouillon"
    track = signatures.track_of(db_session, doc)
    assert (track.cycle, track.steps, track.next.kind.value) == (2, [], "envoi")
    assert track.history[-1].reason == "Montant erroné"
    # A sending dated before the return is refused: the track reads in order.
    with pytest.raises(ValidationError, match="précéder"):
        send(db_session, doc, on=dt.date(2026, 3, 1))
    db_session.rollback()
    send(db_session, doc, on=TODAY)
    db_session.commit()
    assert steps(db_session, doc) == [(1, 1, "envoi"), (1, 2, "retour"), (2, 1, "envoi")]
    assert actions(db_session, doc) == ["document.signature_send", "document.signature_return",
                                        "document.signature_send"]


def test_a_protocole_is_signed_by_each_national_signatory(db_session: Any, store: LocalStorage,
                                                          tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Protocole national 2026", doc_type="protocole", region=None,
                   tacit_renewal=True, duration_months=36)
    national = user(db_session, "national")
    expected = signatures.national_signatories(db_session, doc)
    assert {o.slug for o in expected} == {"mcc-sg", "sg-civ", "cnc", "acse", "hcj-djepva"}
    send(db_session, doc, who="national", recipient="Secrétariat général du ministère de la culture")
    cnc = db_session.scalar(select(Organisation).where(Organisation.slug == "cnc"))
    kyrnea = db_session.scalar(select(Organisation).where(Organisation.slug == "kyrnea-international"))
    with pytest.raises(ValidationError, match="quel signataire"):
        signatures.record_signature(db_session, store, doc, actor=national, kind="signataire", on=TODAY, today=TODAY)
    with pytest.raises(signatures.SignatureError, match="n'est pas un signataire attendu"):
        signatures.record_signature(db_session, store, doc, actor=national, kind="signataire",
                                    organisation=kyrnea, on=TODAY, today=TODAY)
    with pytest.raises(signatures.SignatureError, match="Étape attendue"):
        signatures.record_signature(db_session, store, doc, actor=national, kind="coordination", on=TODAY,
                                    today=TODAY)
    signatures.record_signature(db_session, store, doc, actor=national, kind="signataire", organisation=cnc,
                                on=dt.date(2026, 3, 10), today=TODAY)
    with pytest.raises(signatures.SignatureError, match="CNC a déjà signé"):
        signatures.record_signature(db_session, store, doc, actor=national, kind="signataire", organisation=cnc,
                                    on=TODAY, today=TODAY)
    remaining = [o for o in expected if o.slug != "cnc"]
    for org in remaining[:-1]:
        track = signatures.track_of(db_session, doc)
        assert not track.next.final and org in track.next.signatories
        signatures.record_signature(db_session, store, doc, actor=national, kind="signataire", organisation=org,
                                    on=dt.date(2026, 3, 12), today=TODAY)
    last = remaining[-1]
    track = signatures.track_of(db_session, doc)
    assert track.next.final and track.next.signatories == (last,)
    with pytest.raises(ValidationError, match="scan"):
        signatures.record_signature(db_session, store, doc, actor=national, kind="signataire", organisation=last,
                                    on=TODAY, today=TODAY)
    signatures.record_signature(db_session, store, doc, actor=national, kind="signataire", organisation=last,
                                on=TODAY, scan=scan(tmp_path, "Protocole signé par les cinq signataires"),
                                today=TODAY)
    db_session.commit()
    assert (doc.status, doc.signature_date, doc.effective_date) == ("signe", TODAY, TODAY)
    assert locking.lock_reason(db_session, doc) == "protocole signé"
    # Tacit renewal from the date d'effet: the stored deadlines reach past the first term.
    assert db_session.scalar(select(DocumentDeadline.date).where(
        DocumentDeadline.document_id == doc.id, DocumentDeadline.kind == "echeance",
        DocumentDeadline.term == 0)) == dt.date(2029, 3, 19)
    assert [s.kind for s in signatures.track_of(db_session, doc).steps] == ["envoi"] + ["signataire"] * 5


def test_a_protocole_with_its_own_parties_waits_for_those_only(db_session: Any, store: LocalStorage,
                                                               tmp_path: Path) -> None:
    cnc, acse = (db_session.scalar(select(Organisation).where(Organisation.slug == s)) for s in ("cnc", "acse"))
    doc = file_doc(db_session, store, tmp_path, "Protocole à deux", doc_type="protocole", region=None,
                   party_ids=[cnc.id, acse.id])
    send(db_session, doc, who="national")
    assert set(signatures.track_of(db_session, doc).next.signatories) == {cnc, acse}


def test_a_signatory_free_referentiel_cannot_sign_a_protocole(db_session: Any, store: LocalStorage,
                                                             tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Protocole sans signataires", doc_type="protocole", region=None)
    for org in db_session.scalars(select(Organisation).where(Organisation.kind == "signataire")):
        org.valid_until = dt.date(2015, 12, 31)
    send(db_session, doc, who="national")
    assert signatures.track_of(db_session, doc).next is None
    with pytest.raises(signatures.SignatureError, match="Aucune signature n'est attendue"):
        signatures.record_signature(db_session, store, doc, actor=user(db_session, "national"), kind="signataire",
                                    on=TODAY, today=TODAY)


def test_awaiting_signature_is_scoped_and_filtered(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    idf_doc = file_doc(db_session, store, tmp_path, "Convention IDF")
    paca_doc = file_doc(db_session, store, tmp_path, "Avenant PACA", region="93", doc_type="avenant")
    hand = file_doc(db_session, store, tmp_path, "Convention importée en signature", status="en_signature")
    send(db_session, idf_doc, on=dt.date(2026, 3, 1))
    send(db_session, paca_doc, who="paca", on=dt.date(2026, 3, 10), recipient="DRAC PACA")
    db_session.commit()

    def ids(who: str, **kw: Any) -> list[int]:
        return [a.document.id for a in signatures.awaiting_signature(db_session, user(db_session, who),
                                                                     today=TODAY, **kw)]

    assert ids("admin") == [hand.id, idf_doc.id, paca_doc.id]
    assert set(ids("idf")) == {idf_doc.id, hand.id} and set(ids("paca")) == {paca_doc.id}
    assert ids("admin", doc_type="avenant") == [paca_doc.id]
    assert ids("admin", region_code="93") == [paca_doc.id]
    assert ids("admin", region_code="national") == []
    row = next(a for a in signatures.awaiting_signature(db_session, user(db_session, "admin"), today=TODAY)
               if a.document.id == idf_doc.id)
    assert (row.current, row.next, row.since, row.days, row.with_whom) == (
        "Envoyé pour signature", "Signé par la coordination", dt.date(2026, 3, 1), 19,
        "Coordination régionale Île-de-France")
    started = next(a for a in signatures.awaiting_signature(db_session, user(db_session, "admin"), today=TODAY)
                   if a.document.id == hand.id)
    assert started.current == "Aucune étape enregistrée" and started.next == "Envoyé pour signature"


def outbox(session: Any) -> list[MailOutbox]:
    return list(session.scalars(select(MailOutbox).order_by(MailOutbox.id)))


def test_reminders_go_once_per_period_after_the_type_s_delay(db_session: Any, store: LocalStorage,
                                                             tmp_path: Path) -> None:
    convention = file_doc(db_session, store, tmp_path, "Convention qui traîne")
    protocole = file_doc(db_session, store, tmp_path, "Protocole qui traîne", doc_type="protocole", region=None)
    send(db_session, convention, on=dt.date(2026, 3, 1), recipient_user=user(db_session, "lecteur_idf"))
    send(db_session, protocole, who="national", on=dt.date(2026, 3, 1))
    db_session.commit()

    def run(day: dt.date, **kw: Any) -> signatures.ReminderReport:
        report = signatures.signature_reminders(db_session, day, base_url="https://intranet.test", **kw)
        db_session.commit()
        return report

    assert run(dt.date(2026, 3, 15)).sent == 0  # 14 days: not yet
    report = run(dt.date(2026, 3, 16))
    assert (report.sent, report.documents) == (1, [convention.id])
    mail = outbox(db_session)[-1]
    assert mail.recipients == ["idf@test.fr", "lecteur.idf@test.fr"]
    assert "Signature en attente : Convention qui traîne" in mail.subject
    assert "depuis 15 jours" in mail.body and f"https://intranet.test/documents/{convention.id}#signature" in mail.body
    assert run(dt.date(2026, 3, 16)).sent == 0, "a second run the same day sends nothing"
    assert run(dt.date(2026, 3, 30)).sent == 0, "one reminder per period"
    assert run(dt.date(2026, 3, 31)).documents == [convention.id, protocole.id]  # 15 days later; protocole: 30
    assert len(outbox(db_session)) == 4  # the first told lecteur.idf, when it was sent, that it waited for them
    # A new step restarts the wait.
    signatures.record_signature(db_session, store, convention, actor=user(db_session, "idf"), kind="coordination",
                                on=dt.date(2026, 3, 31), today=dt.date(2026, 3, 31))
    db_session.commit()
    assert run(dt.date(2026, 4, 14)).sent == 0
    assert run(dt.date(2026, 4, 15), delays={"protocole": 10}).documents == [convention.id, protocole.id]
    audit_rows = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "document.signature_reminder"))
    assert len(list(audit_rows)) == 5


def test_the_account_it_is_sent_to_is_told_by_mail_in_the_same_transaction(db_session: Any, store: LocalStorage,
                                                                          tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention à signer")
    before = len(outbox(db_session))
    # Refused (the recipient may not read it): no message.
    with pytest.raises(ValidationError):
        send(db_session, doc, recipient_user=user(db_session, "paca"), base_url="https://intranet.test")
    db_session.rollback()
    assert len(outbox(db_session)) == before
    step = send(db_session, doc, recipient_user=user(db_session, "lecteur_idf"), base_url="https://intranet.test/")
    db_session.rollback()  # the edge gave up: nothing of the step nor of its message is left
    assert len(outbox(db_session)) == before and steps(db_session, doc) == []
    step = send(db_session, doc, recipient_user=user(db_session, "lecteur_idf"), base_url="https://intranet.test/")
    db_session.commit()
    [mail] = outbox(db_session)[before:]
    assert mail.recipients == ["lecteur.idf@test.fr"] and mail.state == "pending"
    assert mail.subject == "[Passeurs d'images] À signer : Convention à signer"
    assert "vous a confié ce document pour signature le 02/03/2026" in mail.body
    assert f"https://intranet.test/documents/{doc.id}#signature" in mail.body
    assert mail.origin == f"signature-send:{doc.id}:{step.id}"
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.signature_send"))
    assert event.details["mailed"] is True
    # Sent to oneself, or to a person named only: no message.
    other = file_doc(db_session, store, tmp_path, "Convention gardée")
    send(db_session, other, recipient_user=user(db_session, "idf"))
    third = file_doc(db_session, store, tmp_path, "Convention envoyée par la poste")
    send(db_session, third)
    db_session.commit()
    assert len(outbox(db_session)) == before + 1


def test_reminder_settings_are_checked(db_session: Any) -> None:
    assert signatures.reminder_delays({"convention": 20})["convention"] == 20
    for bad in ({"bilan": 3}, {"convention": 0}, {"protocole": True}):
        with pytest.raises(ValidationError):
            signatures.reminder_delays(bad)  # type: ignore[arg-type]


def test_a_reminder_without_any_active_recipient_is_reported(db_session: Any, store: LocalStorage,
                                                             tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention orpheline")
    send(db_session, doc, on=dt.date(2026, 1, 2))
    db_session.commit()
    idf = user(db_session, "idf")
    idf.active = False
    db_session.commit()
    report = signatures.signature_reminders(db_session, TODAY)
    assert report.sent == 0 and report.skipped == [(doc.id, "aucun destinataire actif avec une adresse valide")]
    assert outbox(db_session) == []
    assert isinstance(idf, User)


def test_two_people_recording_the_same_step_at_once_get_a_409(app: Any, db_session: Any, store: LocalStorage,
                                                               tmp_path: Path) -> None:
    from sqlalchemy import event

    doc = file_doc(db_session, store, tmp_path, "Convention disputée")
    send(db_session, doc)
    db_session.commit()
    other = app.extensions["db_factory"]()

    def the_other_one_first(session: Any, _context: Any, _instances: Any) -> None:
        # Between this request's reading of the track and its write, another request records the same step.
        row = signatures.track_of(other, other.get(Document, doc.id))
        other.add(SignatureStep(document_id=doc.id, cycle=row.cycle, seq=2, kind="coordination",
                                step_date=dt.date(2026, 3, 5), signatory="", reason=""))
        other.commit()

    event.listen(db_session, "before_flush", the_other_one_first, once=True)
    try:
        with pytest.raises(signatures.SignatureError, match="Une autre personne") as info:
            signatures.record_signature(db_session, store, doc, actor=user(db_session, "idf"), kind="coordination",
                                        on=dt.date(2026, 3, 6), today=TODAY)
        assert info.value.status == 409
        db_session.rollback()
    finally:
        other.close()
    assert steps(db_session, doc) == [(1, 1, "envoi"), (1, 2, "coordination")]
    assert signatures.track_of(db_session, doc).steps[-1].step_date == dt.date(2026, 3, 5)
