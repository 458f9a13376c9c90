"""Locked records: approved minutes and signed agreements, model sources, the staff's trash.

Every verb runs on real SQLite/PostgreSQL with real files; a refusal must leave the database
exactly as it was.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import samplefiles as sf
from documents import archive, listing, locking
from documents.committees.meetings import MeetingInput, schedule_meeting
from documents.committees.minutes import approve_minutes, submit_minutes, upload_minutes
from documents.errors import DomainError, NotFound, PermissionDenied, ValidationError
from documents.models import AuditEvent, Document, Organisation, Quartier
from documents.storage import LocalStorage
from testkit import committee, file_builtin_models, user, with_committees


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def file_doc(session: Any, store: LocalStorage, tmp_path: Path, title: str, *, who: str = "admin",
             region: str | None = "11", doc_type: str = "convention", status: str = "signe",
             **meta: Any) -> Document:
    path = sf.write_sample(tmp_path / f"{title}.docx", sf.make_docx([f"{title} : texte"]))
    doc = archive.archive_document(session, store, actor=user(session, who), path=path, filename=f"{title}.docx",
                                   meta=archive.Metadata(title=title, doc_type=doc_type, region_code=region,
                                                         year=2024, status=status, **meta))
    session.commit()  # the test is the edge of this change
    return doc


def snapshot(session: Any, doc_id: int) -> tuple[Any, ...]:
    session.expire_all()
    doc = session.get(Document, doc_id)
    return (doc.title, doc.doc_type, doc.region_code, doc.year, doc.status, doc.signature_date, doc.end_date,
            doc.duration_months, doc.tacit_renewal, doc.notice_months, sorted(p.id for p in doc.parties),
            doc.keywords, doc.notes, [q.code for q in doc.quartiers], len(doc.versions), doc.deleted_at,
            doc.unlocked_at)


def actions(session: Any, doc_id: int) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "document", AuditEvent.object_id == str(doc_id)).order_by(AuditEvent.id)))


def organisations(session: Any) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.id).limit(2)))


@pytest.mark.parametrize("doc_type,kind", [("convention", "convention signée"), ("avenant", "avenant signé"),
                                           ("contrat_objectifs", "contrat d'objectifs signé"),
                                           ("protocole", "protocole signé")])
def test_signed_agreements_refuse_version_and_trash(db_session: Any, store: LocalStorage, tmp_path: Path,
                                                    doc_type: str, kind: str) -> None:
    doc = file_doc(db_session, store, tmp_path, f"Accord {doc_type}", doc_type=doc_type)
    assert locking.is_locked(db_session, doc) and locking.lock_reason(db_session, doc) == kind
    before = snapshot(db_session, doc.id)
    v2 = sf.write_sample(tmp_path / "v2.docx", sf.make_docx(["Version 2"]))
    db_session.commit()
    with pytest.raises(locking.LockedDocument, match=f"verrouillé \\({kind}\\)") as refused:
        archive.add_version(db_session, store, doc, actor=user(db_session, "national"), path=v2, filename="v2.docx")
    assert refused.value.status == 409
    db_session.rollback()
    db_session.commit()
    with pytest.raises(locking.LockedDocument, match="corbeille"):
        archive.trash_document(db_session, doc, actor=user(db_session, "admin"))
    db_session.rollback()
    assert snapshot(db_session, doc.id) == before
    assert len([p for p in (tmp_path / "files").rglob("*") if p.is_file()]) == 1, "no file of the refused version"


def test_drafts_and_unsigned_documents_are_not_locked(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    draft = file_doc(db_session, store, tmp_path, "Convention en projet", status="en_signature")
    report = file_doc(db_session, store, tmp_path, "Bilan signé", doc_type="bilan")
    assert not locking.is_locked(db_session, draft) and not locking.is_locked(db_session, report)
    # Signing is itself allowed; from then on the convention is locked.
    meta = archive.Metadata.of(draft)
    meta.status, meta.signature_date = "signe", dt.date(2024, 5, 2)
    archive.update_metadata(db_session, draft, actor=user(db_session, "idf"), meta=meta)
    assert locking.is_locked(db_session, draft)
    archive.trash_document(db_session, report, actor=user(db_session, "idf"))
    assert report.in_trash


LEGAL_CHANGES: dict[str, Any] = {
    "doc_type": "avenant", "region_code": "93", "year": 2031, "status": "archive",
    "signature_date": dt.date(2024, 1, 2), "effective_date": dt.date(2024, 2, 1), "end_date": dt.date(2027, 1, 1),
    "duration_months": 36, "tacit_renewal": True, "notice_months": 3, "party_ids": "other",
}


@pytest.mark.parametrize("name", sorted(LEGAL_CHANGES))
def test_legal_fields_of_a_locked_document_do_not_change(db_session: Any, store: LocalStorage, tmp_path: Path,
                                                         name: str) -> None:
    first, second = organisations(db_session)
    doc = file_doc(db_session, store, tmp_path, "Convention signée", party_ids=[first.id])
    before = snapshot(db_session, doc.id)
    meta = archive.Metadata.of(doc)
    setattr(meta, name, [second.id] if name == "party_ids" else LEGAL_CHANGES[name])
    meta.title = "Titre corrigé en même temps"
    db_session.commit()
    with pytest.raises(locking.LockedDocument, match=locking.LEGAL_FIELDS[name]) as refused:
        archive.update_metadata(db_session, doc, actor=user(db_session, "admin"), meta=meta)
    assert set(refused.value.errors) == {name}
    db_session.rollback()
    assert snapshot(db_session, doc.id) == before
    assert "document.metadata" not in actions(db_session, doc.id)


def test_title_keywords_notes_and_quartiers_stay_editable_and_audited(db_session: Any, store: LocalStorage,
                                                                      tmp_path: Path) -> None:
    first, second = organisations(db_session)
    doc = file_doc(db_session, store, tmp_path, "Convention signée", party_ids=[second.id, first.id],
                   signature_date=dt.date(2024, 3, 4))
    quartier = db_session.scalar(select(Quartier).where(Quartier.region_code == "11").order_by(Quartier.code))
    meta = archive.Metadata.of(doc)
    meta.title, meta.keywords, meta.notes = "Convention DRAC 2024 (signée)", ["cinéma"], "Original au siège."
    meta.quartier_codes = [quartier.code]
    meta.party_ids = [first.id, second.id]  # the same parties in another order are no change
    archive.update_metadata(db_session, doc, actor=user(db_session, "idf"), meta=meta)
    db_session.expire_all()
    doc = db_session.get(Document, doc.id)
    assert (doc.title, doc.keywords, doc.notes, [q.code for q in doc.quartiers]) == (
        "Convention DRAC 2024 (signée)", "cinéma", "Original au siège.", [quartier.code])
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.metadata"))
    assert set(event.details["changed"]) == {"title", "keywords", "notes", "quartier_codes"}


def test_admin_unlocks_with_a_reason_then_relocks(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Avenant signé", doc_type="avenant")
    before = snapshot(db_session, doc.id)
    db_session.commit()
    with pytest.raises(PermissionDenied):
        locking.unlock_document(db_session, doc, actor=user(db_session, "national"), reason="Erreur")
    with pytest.raises(ValidationError) as empty:
        locking.unlock_document(db_session, doc, actor=user(db_session, "admin"), reason="  \n ")
    assert "reason" in empty.value.errors
    db_session.rollback()
    assert snapshot(db_session, doc.id) == before

    admin = user(db_session, "admin")
    locking.unlock_document(db_session, doc, actor=admin, reason="  Montant  mal saisi\n(avenant n° 2) ")
    db_session.commit()
    assert not locking.is_locked(db_session, doc)
    assert (doc.unlocked_by_id, doc.unlock_reason) == (admin.id, "Montant mal saisi (avenant n° 2)")
    with pytest.raises(DomainError, match="déjà déverrouillé"):
        locking.unlock_document(db_session, doc, actor=admin, reason="encore")
    # Unlocked: a version and a legal change go through.
    v2 = sf.write_sample(tmp_path / "v2.docx", sf.make_docx(["Avenant corrigé"]))
    archive.add_version(db_session, store, doc, actor=user(db_session, "idf"), path=v2, filename="v2.docx")
    meta = archive.Metadata.of(doc)
    meta.duration_months = 24
    archive.update_metadata(db_session, doc, actor=user(db_session, "idf"), meta=meta)

    with pytest.raises(PermissionDenied):
        locking.lock_document(db_session, doc, actor=user(db_session, "idf"))
    locking.lock_document(db_session, doc, actor=admin)
    db_session.commit()
    assert locking.is_locked(db_session, doc) and doc.unlock_reason == ""
    db_session.commit()
    with pytest.raises(DomainError, match="n'est pas déverrouillé"):
        locking.lock_document(db_session, doc, actor=admin)
    with pytest.raises(locking.LockedDocument):
        archive.trash_document(db_session, doc, actor=admin)
    db_session.rollback()
    assert actions(db_session, doc.id) == ["document.upload", "document.unlock", "document.version",
                                           "document.metadata", "document.lock"]
    unlock = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.unlock"))
    assert unlock.details == {"reason": "Montant mal saisi (avenant n° 2)", "lock": "avenant signé"}
    assert unlock.actor_id == admin.id
    # Everyone who reads the document sees who unlocked it and why, in its history.
    history = listing.document_history(db_session, doc)
    assert {"document.unlock", "document.lock"} <= {e.action for e in history}


def test_signing_anew_relocks(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Convention à resigner")
    locking.unlock_document(db_session, doc, actor=user(db_session, "admin"), reason="Erreur de parties")
    meta = archive.Metadata.of(doc)
    meta.status = "en_signature"
    archive.update_metadata(db_session, doc, actor=user(db_session, "idf"), meta=meta)
    assert doc.unlocked_at is not None and not locking.is_locked(db_session, doc)
    meta.status = "signe"
    archive.update_metadata(db_session, doc, actor=user(db_session, "idf"), meta=meta)
    assert doc.unlocked_at is None and locking.is_locked(db_session, doc)
    assert actions(db_session, doc.id)[-2:] == ["document.lock", "document.metadata"]


def test_nothing_to_unlock_on_a_draft(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    doc = file_doc(db_session, store, tmp_path, "Brouillon", status="brouillon")
    with pytest.raises(DomainError, match="n'est pas verrouillé") as refused:
        locking.unlock_document(db_session, doc, actor=user(db_session, "admin"), reason="Pour voir")
    assert refused.value.status == 409 and doc.unlocked_at is None


def approved_minutes(session: Any, store: LocalStorage, tmp_path: Path) -> Any:
    """A regional meeting whose uploaded minutes the committee approved."""
    with_committees(session)
    idf = user(session, "idf")
    meeting = schedule_meeting(session, committee(session, "regional-11"), actor=idf, data=MeetingInput(
        starts_at=dt.datetime(2026, 3, 12, 13, tzinfo=dt.UTC), title="Comité de printemps",
        place="DRAC, Paris", agenda=["Bilan"]))
    path = sf.write_sample(tmp_path / "cr.docx", sf.make_docx(["Compte rendu : les projets sont validés."]))
    upload_minutes(session, store, meeting, actor=idf, path=path, filename="cr.docx")
    submit_minutes(session, meeting, actor=idf)
    approve_minutes(session, meeting, actor=idf)
    return meeting


def test_approved_minutes_are_locked_even_if_their_status_was_changed_by_hand(
        db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    meeting = approved_minutes(db_session, store, tmp_path)
    doc = meeting.minutes_document
    assert locking.lock_reason(db_session, doc) == "compte rendu approuvé"
    db_session.commit()
    with pytest.raises(locking.LockedDocument):
        archive.trash_document(db_session, doc, actor=user(db_session, "national"))
    db_session.rollback()
    # A status set by an older release (before locks) does not free approved minutes.
    doc.status = "brouillon"
    db_session.commit()
    assert locking.is_locked(db_session, doc)
    v2 = sf.write_sample(tmp_path / "cr2.docx", sf.make_docx(["Autre texte"]))
    db_session.commit()
    with pytest.raises(locking.LockedDocument, match="compte rendu approuvé"):
        upload_minutes(db_session, store, meeting, actor=user(db_session, "idf"), path=v2, filename="cr2.docx")
    db_session.rollback()
    db_session.expire_all()
    assert (meeting.minutes_status, len(meeting.minutes_document.versions)) == ("approuve", 1)


def test_the_source_of_a_drafting_model_cannot_be_trashed(app: Any, db_session: Any) -> None:
    models = file_builtin_models(app, db_session)
    slug, doc_id = sorted(models.items())[0]
    doc = db_session.get(Document, doc_id)
    db_session.commit()
    with pytest.raises(locking.LockedDocument, match=f"modèle de rédaction « {doc.title} » \\({slug}\\)"):
        archive.trash_document(db_session, doc, actor=user(db_session, "admin"))
    db_session.rollback()
    db_session.expire_all()
    assert not db_session.get(Document, doc_id).in_trash


def test_staff_restore_their_own_scope_and_never_purge(db_session: Any, store: LocalStorage, tmp_path: Path) -> None:
    idf_doc = file_doc(db_session, store, tmp_path, "Bilan IDF", doc_type="bilan", who="idf")
    paca_doc = file_doc(db_session, store, tmp_path, "Bilan PACA", doc_type="bilan", who="paca", region="93")
    national = file_doc(db_session, store, tmp_path, "Bilan national", doc_type="bilan", region=None)
    archive.trash_document(db_session, idf_doc, actor=user(db_session, "idf"))
    archive.trash_document(db_session, paca_doc, actor=user(db_session, "paca"))
    archive.trash_document(db_session, national, actor=user(db_session, "national"))

    def trash_of(who: str) -> list[str]:
        return [d.title for d in db_session.scalars(listing.trashed_documents(user(db_session, who)))]

    assert sorted(trash_of("idf")) == ["Bilan IDF"] and sorted(trash_of("paca")) == ["Bilan PACA"]
    assert sorted(trash_of("national")) == ["Bilan IDF", "Bilan PACA", "Bilan national"]
    assert trash_of("lecteur_idf") == [] and trash_of("lecteur") == []

    idf = user(db_session, "idf")
    for doc in (paca_doc, national):
        with pytest.raises(NotFound):
            archive.restore_document(db_session, doc, actor=idf)
    db_session.commit()
    with pytest.raises(PermissionDenied):
        archive.restore_document(db_session, idf_doc, actor=user(db_session, "lecteur_idf"))
    with pytest.raises(PermissionDenied):
        archive.purge_document(db_session, store, idf_doc, actor=idf)
    db_session.rollback()
    assert all(d.in_trash for d in (idf_doc, paca_doc, national))

    archive.restore_document(db_session, idf_doc, actor=idf)
    archive.restore_document(db_session, paca_doc, actor=user(db_session, "national"))
    assert not idf_doc.in_trash and not paca_doc.in_trash and national.in_trash
    restore = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "document.restore",
                                                         AuditEvent.object_id == str(idf_doc.id)))
    assert restore.actor_id == idf.id
