"""The minutes' workflow: values pre-filled from the meeting, draft, upload, submit, comment, approve."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from committeekit import docx_file, schedule
from documents.committees.actions import add_action
from documents.committees.agenda import set_agenda_notes
from documents.committees.attendance import record_attendance
from documents.committees.dates import local
from documents.committees.decisions import DecisionInput, add_decision
from documents.committees.errors import CommitteeError
from documents.committees.members import add_member
from documents.committees.minutes import (
    approve_minutes,
    approved_minutes,
    comment_minutes,
    draft_minutes,
    minutes_values,
    reopen_minutes,
    submit_minutes,
    upload_minutes,
)
from documents.committees.notifications import Notifier
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.locking import LockedDocument, unlock_document
from documents.models import AuditEvent, Quartier
from documents.storage import LocalStorage
from testkit import committee, deliver_mail, user


def _docx_text(data: bytes) -> str:
    import re

    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")
    return re.sub(r"<[^>]+>", "", xml.replace("</w:p>", "\n"))


def test_minutes_values_are_prefilled(session: Any) -> None:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    add_member(session, com, actor=idf, name="Nadia Benali", organisation="Méliès")
    add_member(session, com, actor=idf, name="Paul Martin", organisation="Ville")
    meeting = schedule(session)
    drac, nadia, paul = meeting.attendance
    record_attendance(session, meeting, actor=idf, entries={
        drac.id: ("present", ""), nadia.id: ("represente", "Léa Durand"), paul.id: ("excuse", "")})
    quartier = session.scalar(select(Quartier).where(Quartier.region_code == "11").order_by(Quartier.code))
    decision = add_decision(session, meeting, actor=idf, data=DecisionInput(
        kind="validation_projet", project_name="Ciné-plein-air", porteur="Association Cinéma & Cité",
        quartier_code=quartier.code, actions_concerned="Projections en plein air gratuites"))
    add_action(session, meeting, actor=idf, title="Signer la convention", owner="Coordination",
               due_date=dt.date(2026, 4, 30), decision_id=decision.id)
    following = schedule(session, day=dt.date(2026, 10, 8))
    values = minutes_values(session, meeting, redacteur="Idf")
    assert values["presents"] == [
        {"nom": "DRAC Île-de-France", "qualite": "Président", "organisme": "DRAC Île-de-France"},
        {"nom": "Léa Durand (pour Nadia Benali)", "qualite": "Membre", "organisme": "Méliès"}]
    assert values["excuses"] == [{"nom": "Paul Martin", "qualite": "Membre", "organisme": "Ville"}]
    assert values["president_seance"] == "DRAC Île-de-France"
    assert values["date_reunion"] == "2026-03-12"
    assert values["prochaine_reunion"] == local(following.starts_at).date().isoformat() == "2026-10-08"
    [row] = values["decisions"]
    assert row["decision"].startswith("Le comité valide le projet « Ciné-plein-air » porté par "
                                      "Association Cinéma & Cité (" + quartier.communes)
    assert (row["responsable"], row["echeance"]) == ("Coordination", "30 avril 2026")


def test_minutes_workflow(session: Any, storage: LocalStorage, notifier: Notifier, outbox: Path) -> None:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    add_member(session, com, actor=idf, user_id=user(session, "lecteur_idf").id)
    add_member(session, com, actor=idf, name="Nadia", email="nadia@melies.example")
    meeting = schedule(session, agenda=["Bilan & perspectives <2026>"])
    record_attendance(session, meeting, actor=idf, entries={a.id: ("present", "") for a in meeting.attendance})
    with pytest.raises(CommitteeError):
        submit_minutes(session, meeting, actor=idf)

    doc = draft_minutes(session, storage, meeting, actor=idf)
    assert (doc.doc_type, doc.region_code, doc.year, doc.title) == (
        "compte_rendu", "11", 2026, "Compte rendu – Comité de pilotage régional – Île-de-France – 12/03/2026")
    assert meeting.minutes_document_id == doc.id and meeting.minutes_status == "brouillon"
    assert doc.current.origin == {"source": "generation", "model": "compte-rendu-comite", "meeting": meeting.id}
    with storage.open(doc.current.sha256) as fh:
        text = _docx_text(fh.read())
    assert "Bilan &amp; perspectives &lt;2026&gt;" in text and "Nadia" in text and "Lecteur.idf" in text

    with pytest.raises(CommitteeError):
        comment_minutes(session, meeting, actor=user(session, "lecteur_idf"), body="Trop tôt")
    with pytest.raises(CommitteeError):
        approve_minutes(session, meeting, actor=idf)
    submit_minutes(session, meeting, actor=idf, notifier=notifier)
    assert (meeting.minutes_status, meeting.minutes_submitted_version) == ("soumis", 1)
    assert doc.status == "en_signature"
    with pytest.raises(CommitteeError):
        draft_minutes(session, storage, meeting, actor=idf)

    comment = comment_minutes(session, meeting, actor=user(session, "lecteur_idf"), body="Ajouter la date.\r\n")
    assert (comment.body, comment.version, comment.author_name) == ("Ajouter la date.", 1, "Lecteur.idf")
    session.commit()
    with pytest.raises(PermissionDenied):
        comment_minutes(session, meeting, actor=user(session, "lecteur"), body="Je ne suis pas membre")
    with pytest.raises(NotFound):
        comment_minutes(session, meeting, actor=user(session, "paca"), body="Autre région")
    with pytest.raises(ValidationError):
        comment_minutes(session, meeting, actor=idf, body="   ")
    session.rollback()

    approve_minutes(session, meeting, actor=idf, notifier=notifier)
    assert (meeting.minutes_status, meeting.minutes_approved_version) == ("approuve", 1)
    assert meeting.minutes_approved_by_id == idf.id and meeting.minutes_approved_at is not None
    # In the archive (lists, search facets) approved minutes read "signé".
    assert doc.status == "signe"
    assert [m.id for m in approved_minutes(session, user(session, "idf"))] == [meeting.id]
    assert approved_minutes(session, user(session, "paca")) == []

    # Approved minutes are locked: no new version until an administrator unlocks them with a reason.
    approved_sha = doc.current.sha256
    set_agenda_notes(session, meeting, actor=idf, notes={meeting.agenda[0].id: "Ajout après approbation."})
    session.commit()
    with pytest.raises(LockedDocument, match="compte rendu approuvé"):
        draft_minutes(session, storage, meeting, actor=idf)
    session.rollback()
    assert [v.number for v in doc.versions] == [1] and meeting.minutes_status == "approuve"
    unlock_document(session, doc, actor=user(session, "admin"), reason="Erreur de date dans le relevé")
    session.commit()
    # Once unlocked, a change after approval is a new version; the approved one is still recorded.
    draft_minutes(session, storage, meeting, actor=idf)
    session.refresh(doc)
    assert [v.number for v in doc.versions] == [1, 2] and doc.versions[0].sha256 == approved_sha
    assert (meeting.minutes_status, meeting.minutes_approved_version) == ("brouillon", 1)
    assert doc.status == "brouillon"
    assert [c.body for c in meeting.comments] == ["Ajouter la date."]
    assert doc.unlocked_at is not None, "unlocked until the committee approves again"
    submit_minutes(session, meeting, actor=idf)
    approve_minutes(session, meeting, actor=idf)
    assert (meeting.minutes_approved_version, doc.unlocked_at, doc.status) == (2, None, "signe")
    session.commit()
    with pytest.raises(LockedDocument):
        draft_minutes(session, storage, meeting, actor=idf)
    session.rollback()
    subjects = [m.subject for m in deliver_mail(session, outbox)]
    assert any("Compte rendu à relire" in s for s in subjects) and any("Compte rendu approuvé" in s for s in subjects)
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "meeting")))
    assert {"minutes.version", "minutes.submit", "minutes.comment", "minutes.approve"} <= actions


def test_uploaded_minutes_and_reopen(session: Any, storage: LocalStorage, tmp_path: Path) -> None:
    idf = user(session, "idf")
    meeting = schedule(session)
    path = docx_file(tmp_path / "cr.docx", ["Compte rendu rédigé à la main : les projets sont validés."])
    doc = upload_minutes(session, storage, meeting, actor=idf, path=path, filename="CR comité.docx")
    assert doc.current.origin["source"] == "upload" and meeting.minutes_status == "brouillon"
    submit_minutes(session, meeting, actor=idf)
    reopen_minutes(session, meeting, actor=idf)
    assert meeting.minutes_status == "brouillon"
    with pytest.raises(NotFound):
        upload_minutes(session, storage, meeting, actor=user(session, "paca"), path=path, filename="x.docx")
    session.refresh(doc)
    assert len(doc.versions) == 1
