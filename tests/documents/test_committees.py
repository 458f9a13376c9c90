"""Committee verbs: scope, meetings, attendance, minutes workflow, decisions, actions, compliance, feeds."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from documents import archive
from documents.calendar import aware
from documents.committees.actions import add_action, delete_action, get_action, set_action_status
from documents.committees.agenda import set_agenda_notes
from documents.committees.attachments import attach_document, detach_document, readable_attachments, upload_attachment
from documents.committees.attendance import invite_guest, record_attendance, remove_guest
from documents.committees.committee import create_committee, ensure_committees, update_committee
from documents.committees.compliance import compliance
from documents.committees.dashboard import dashboard_counts
from documents.committees.dates import local, paris_datetime
from documents.committees.decisions import DecisionInput, add_decision, delete_decision, update_decision
from documents.committees.errors import CommitteeError
from documents.committees.exports import actions_csv, decisions_csv
from documents.committees.feeds import create_feed_token, my_meetings, revoke_feed_tokens, user_for_feed_token
from documents.committees.indexing import index_entry_for_meeting
from documents.committees.lists import ListFilters, actions_query, decisions_query
from documents.committees.meetings import MeetingInput, cancel_meeting, duplicate_meeting, schedule_meeting, update_meeting
from documents.committees.members import add_member, remove_member, set_member_role
from documents.committees.minutes import approve_minutes, approved_minutes, comment_minutes, draft_minutes, minutes_values, reopen_minutes, submit_minutes, upload_minutes
from documents.committees.notifications import Notifier, recipients
from documents.committees.scope import get_committee, get_meeting, visible_committees
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.locking import LockedDocument, unlock_document
from documents.mail import read_outbox
from documents.models import (
    ActionItem,
    AuditEvent,
    CalendarToken,
    Committee,
    Document,
    IndexOutbox,
    Meeting,
    Quartier,
)
from documents.storage import LocalStorage
from samplefiles import make_docx
from testkit import committee, deliver_mail, user, with_committees


@pytest.fixture
def session(db_session: Any) -> Any:
    """The test database with the committees of the reference data."""
    return with_committees(db_session)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def notifier(outbox: Path) -> Notifier:
    return Notifier(lambda m: f"https://intranet.test/comites/reunions/{m.id}")


def at(day: dt.date, hour: int = 14) -> dt.datetime:
    return paris_datetime(day, dt.time(hour))


def schedule(session: Any, slug: str = "regional-11", who: str = "idf", *, day: dt.date = dt.date(2026, 3, 12),
             notifier: Notifier | None = None, agenda: list[str] | None = None) -> Meeting:
    com = committee(session, slug)
    return schedule_meeting(session, com, actor=user(session, who), notifier=notifier, data=MeetingInput(
        starts_at=at(day), ends_at=at(day, 16), title="Comité de printemps", place="DRAC, 47 rue Le Peletier, Paris",
        agenda=agenda if agenda is not None else ["Bilan de l'année", "Validation des projets"]))


def docx_file(path: Path, paragraphs: list[str]) -> Path:
    path.write_bytes(make_docx(paragraphs))
    return path


def count(session: Any, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --------------------------------------------------------------------------- committees


def test_reference_committees_are_created_once(session: Any) -> None:
    assert ensure_committees(session) == 0
    all_committees = session.scalars(select(Committee)).all()
    # The national committee and one per current region (the 2009 regions only hold the archive).
    assert len(all_committees) == 1 + 18
    national = committee(session, "national")
    assert national.region_code is None and national.level == "national"
    assert national.organisation.slug == "cnc"
    assert [(m.role, m.organisation) for m in national.members] == [
        ("president", "Centre national du cinéma et de l'image animée")]
    idf = committee(session, "regional-11")
    assert idf.region_code == "11" and idf.organisation.kind == "drac" and idf.organisation.region_code == "11"


def test_committee_scope_by_role(session: Any) -> None:
    def slugs(who: str) -> set[str | None]:
        return {c.slug for c in session.scalars(visible_committees(user(session, who)))}

    assert slugs("idf") == {"national", "regional-11"}
    assert slugs("paca") == {"national", "regional-93"}
    assert len(slugs("national")) == len(slugs("admin")) == 1 + 18
    assert slugs("lecteur_idf") == {"national", "regional-11"}
    with pytest.raises(NotFound):
        get_committee(session, user(session, "idf"), committee(session, "regional-93").id)


def test_local_committee_only_in_own_region(session: Any) -> None:
    idf = user(session, "idf")
    local_committee = create_committee(session, actor=idf, name="Comité local de Saint-Denis", region_code="11")
    assert (local_committee.level, local_committee.region_code) == ("local", "11")
    before = count(session, Committee)
    session.commit()
    with pytest.raises(PermissionDenied):
        create_committee(session, actor=idf, name="Comité local de Marseille", region_code="93")
    with pytest.raises(ValidationError) as err:
        create_committee(session, actor=idf, name="", region_code="")
    assert set(err.value.errors) == {"name", "region_code"}
    session.rollback()
    assert count(session, Committee) == before


def test_members_users_and_contacts(session: Any) -> None:
    com = committee(session, "regional-11")
    idf = user(session, "idf")
    member = add_member(session, com, actor=idf, user_id=user(session, "lecteur_idf").id, role="membre")
    assert member.contact_email == "lecteur.idf@test.fr"
    contact = add_member(session, com, actor=idf, name="Nadia Benali", organisation="Cinéma Le Méliès",
                           email="N.Benali@melies.example", role="invite")
    assert (contact.email, contact.role_label) == ("n.benali@melies.example", "Invité")
    session.commit()
    with pytest.raises(ValidationError) as err:
        add_member(session, com, actor=idf, user_id=user(session, "lecteur_idf").id)
    assert "user_id" in err.value.errors
    with pytest.raises(ValidationError) as err:
        add_member(session, com, actor=idf, name="X", email="a@b.fr, c@d.fr", role="chef")
    assert set(err.value.errors) == {"email", "role"}
    with pytest.raises(NotFound):
        add_member(session, committee(session, "regional-93"), actor=idf, name="Intrus")
    with pytest.raises(PermissionDenied):
        add_member(session, committee(session, "national"), actor=idf, name="Intrus")
    session.rollback()
    remove_member(session, contact, actor=idf)
    assert [m.display_name for m in committee(session, "regional-11").members] == ["DRAC Île-de-France", "Lecteur.idf"]


# --------------------------------------------------------------------------- meetings


def test_schedule_invites_members_queues_index_and_mails(session: Any, notifier: Notifier, outbox: Path) -> None:
    com = committee(session, "regional-11")
    add_member(session, com, actor=user(session, "idf"), name="Nadia Benali", email="nadia@melies.example")
    meeting = schedule(session, notifier=notifier)
    assert meeting.region_code == "11"
    assert [a.name for a in meeting.attendance] == ["DRAC Île-de-France", "Nadia Benali"]
    assert {a.status for a in meeting.attendance} == {"convoque"}
    assert [i.title for i in meeting.agenda] == ["Bilan de l'année", "Validation des projets"]
    queued = session.scalars(select(IndexOutbox).where(IndexOutbox.object_type == "meeting")).all()
    assert [q.object_id for q in queued] == [meeting.id]
    mails = deliver_mail(session, outbox)
    assert len(mails) == 1 and mails[0].recipients[0] == "nadia@melies.example"
    assert "Convocation" in mails[0].subject
    full = read_outbox(outbox, mails[0].name)
    assert "jeudi 12 mars 2026 à 14:00" in full.body and f"/comites/reunions/{meeting.id}" in full.body
    assert full.attachments == ["invitation.ics"]


def test_meeting_input_is_checked(session: Any) -> None:
    com = committee(session, "regional-11")
    idf = user(session, "idf")
    bad = MeetingInput(starts_at=at(dt.date(2026, 3, 12)), ends_at=at(dt.date(2026, 3, 12), 10),
                         visio_url="javascript:alert(1)")
    session.commit()
    with pytest.raises(ValidationError) as err:
        schedule_meeting(session, com, actor=idf, data=bad)
    assert set(err.value.errors) == {"ends_at", "visio_url"}
    with pytest.raises(ValidationError) as err:
        schedule_meeting(session, com, actor=idf, data=MeetingInput(starts_at=None))
    assert set(err.value.errors) == {"starts_at", "place"}
    session.rollback()
    visio = schedule_meeting(session, com, actor=idf, data=MeetingInput(
        starts_at=at(dt.date(2026, 5, 1)), visio_url="https://visio.example/comite-idf"))
    assert visio.place == "" and visio.visio_url.endswith("comite-idf")


def test_other_region_and_read_only_national_are_refused(session: Any) -> None:
    before = count(session, Meeting)
    session.commit()
    with pytest.raises(NotFound):
        schedule(session, "regional-93", "idf")
    with pytest.raises(PermissionDenied):
        schedule(session, "national", "idf")
    with pytest.raises(PermissionDenied):
        schedule(session, "regional-11", "lecteur_idf")
    session.rollback()
    assert count(session, Meeting) == before
    paca_meeting = schedule(session, "regional-93", "paca")
    with pytest.raises(NotFound):
        get_meeting(session, user(session, "idf"), paca_meeting.id)
    assert get_meeting(session, user(session, "national"), paca_meeting.id) is paca_meeting
    national = schedule(session, "national", "national")
    assert get_meeting(session, user(session, "idf"), national.id) is national
    with pytest.raises(PermissionDenied):
        update_meeting(session, national, actor=user(session, "idf"),
                         data=MeetingInput(starts_at=national.starts_at, place="Ailleurs"))


def test_update_keeps_notes_bumps_sequence_and_notifies(session: Any, notifier: Notifier, outbox: Path) -> None:
    com = committee(session, "regional-11")
    add_member(session, com, actor=user(session, "idf"), name="Nadia", email="nadia@melies.example")
    meeting = schedule(session, notifier=notifier)
    first = meeting.agenda[0]
    set_agenda_notes(session, meeting, actor=user(session, "idf"), notes={first.id: "38 projets, 4 200 jeunes."})
    update_meeting(session, meeting, actor=user(session, "idf"), notifier=notifier, data=MeetingInput(
        starts_at=at(dt.date(2026, 3, 19)), title=meeting.title, place=meeting.place,
        agenda=["Validation des projets", "Bilan de l'année", "Questions diverses"]))
    assert meeting.sequence == 1
    assert [(i.title, i.notes) for i in meeting.agenda] == [
        ("Validation des projets", ""), ("Bilan de l'année", "38 projets, 4 200 jeunes."), ("Questions diverses", "")]
    subjects = sorted(m.subject for m in deliver_mail(session, outbox))
    assert len(subjects) == 2 and any(s.startswith("[Passeurs d'images] Modification") for s in subjects)
    # Saving the same values again is not a change: no new sequence, no mail.
    update_meeting(session, meeting, actor=user(session, "idf"), notifier=notifier, data=MeetingInput(
        starts_at=meeting.starts_at, ends_at=meeting.ends_at, title=meeting.title, place=meeting.place,
        agenda=[i.title for i in meeting.agenda]))
    assert meeting.sequence == 1 and len(deliver_mail(session, outbox)) == 2


def test_attendance(session: Any) -> None:
    com = committee(session, "regional-11")
    idf = user(session, "idf")
    add_member(session, com, actor=idf, name="Nadia Benali", organisation="Méliès")
    add_member(session, com, actor=idf, name="Paul Martin", organisation="Ville de Montreuil")
    meeting = schedule(session)
    drac, nadia, paul = meeting.attendance
    with pytest.raises(ValidationError) as err:
        record_attendance(session, meeting, actor=idf, entries={nadia.id: ("represente", "  ")})
    assert f"rep-{nadia.id}" in err.value.errors
    record_attendance(session, meeting, actor=idf, entries={
        drac.id: ("present", ""), nadia.id: ("represente", "Léa  Durand"), paul.id: ("excuse", "ignoré")})
    assert [a.status_label for a in meeting.attendance] == ["Présent", "Représenté par Léa Durand", "Excusé"]
    assert paul.represented_by == ""
    other = schedule(session, day=dt.date(2026, 6, 1))
    with pytest.raises(ValidationError):
        record_attendance(session, other, actor=idf, entries={drac.id: ("present", "")})


def test_duplicate_prepares_next_meeting(session: Any) -> None:
    meeting = schedule(session)
    add_decision(session, meeting, actor=user(session, "idf"), data=DecisionInput(text="Bilan adopté."))
    copy = duplicate_meeting(session, meeting, actor=user(session, "idf"), starts_at=at(dt.date(2026, 10, 8)))
    assert copy.id != meeting.id and copy.duplicated_from_id == meeting.id
    assert [i.title for i in copy.agenda] == [i.title for i in meeting.agenda]
    assert [a.name for a in copy.attendance] == [a.name for a in meeting.attendance]
    assert copy.decisions == [] and copy.minutes_status == "aucun"
    assert aware(copy.ends_at) - aware(copy.starts_at) == dt.timedelta(hours=2)
    with pytest.raises(NotFound):
        duplicate_meeting(session, meeting, actor=user(session, "paca"), starts_at=at(dt.date(2026, 10, 8)))


def _file(session: Any, storage: LocalStorage, tmp_path: Path, who: str, region: str | None, title: str) -> Document:
    path = docx_file(tmp_path / f"{title}.docx", [f"Document {title}"])
    return archive.archive_document(session, storage, actor=user(session, who), path=path, filename=path.name,
                                    meta=archive.Metadata(title=title, region_code=region))


def test_attached_documents_are_scoped(session: Any, storage: LocalStorage, tmp_path: Path) -> None:
    meeting = schedule(session)
    idf, national = user(session, "idf"), user(session, "national")
    own = _file(session, storage, tmp_path, "idf", "11", "note-idf")
    nat = _file(session, storage, tmp_path, "national", None, "note-nationale")
    paca = _file(session, storage, tmp_path, "paca", "93", "note-paca")
    attach_document(session, meeting, actor=idf, document_id=own.id)
    attach_document(session, meeting, actor=idf, document_id=nat.id)
    session.commit()
    with pytest.raises(NotFound):
        attach_document(session, meeting, actor=idf, document_id=paca.id)
    with pytest.raises(ValidationError):
        attach_document(session, meeting, actor=national, document_id=paca.id)
    with pytest.raises(ValidationError):
        attach_document(session, meeting, actor=idf, document_id=own.id)
    session.rollback()
    assert [d.title for d in readable_attachments(idf, meeting)] == ["note-idf", "note-nationale"]
    path = docx_file(tmp_path / "diaporama.docx", ["Présentation du bilan"])
    uploaded = upload_attachment(session, storage, meeting, actor=idf, path=path, filename="diaporama.docx",
                                   title="Diaporama du bilan")
    assert (uploaded.region_code, uploaded.year) == ("11", 2026)
    assert len(meeting.attachments) == 3
    detach_document(session, meeting, actor=idf, document_id=nat.id)
    assert session.get(Document, nat.id) is not None and len(meeting.attachments) == 2


# --------------------------------------------------------------------------- minutes


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


# --------------------------------------------------------------------------- decisions and actions


def test_decisions_checks(session: Any) -> None:
    idf, national = user(session, "idf"), user(session, "national")
    meeting = schedule(session)
    nat_meeting = schedule(session, "national", "national")
    with pytest.raises(ValidationError) as err:
        add_decision(session, nat_meeting, actor=national, data=DecisionInput(
            kind="validation_projet", project_name="P", porteur="X"))
    assert "kind" in err.value.errors
    paca_q = session.scalar(select(Quartier.code).where(Quartier.region_code == "93"))
    session.commit()
    with pytest.raises(ValidationError) as err:
        add_decision(session, meeting, actor=idf, data=DecisionInput(
            kind="validation_projet", quartier_code=paca_q))
    assert set(err.value.errors) == {"project_name", "porteur", "quartier_code"}
    with pytest.raises(ValidationError):
        add_decision(session, meeting, actor=idf, data=DecisionInput(text=" "))
    with pytest.raises(ValidationError):
        add_action(session, meeting, actor=idf, title="X", decision_id=999999)
    session.rollback()
    plain = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Le bilan est adopté."))
    assert (plain.kind, plain.project_name) == ("decision", "")
    delete_decision(session, meeting, actor=idf, decision_id=plain.id)
    assert meeting.decisions == []


def test_decision_and_action_lists_are_scoped_and_export_csv(session: Any) -> None:
    idf, paca = user(session, "idf"), user(session, "paca")
    m_idf = schedule(session)
    m_paca = schedule(session, "regional-93", "paca")
    add_decision(session, m_idf, actor=idf, data=DecisionInput(
        kind="validation_projet", project_name="=HYPERLINK(\"http://x\")", porteur="Cinéma; « Le Méliès »",
        commune="Montreuil", actions_concerned="Ateliers de pratique"))
    add_decision(session, m_paca, actor=paca, data=DecisionInput(text="Décision marseillaise"))
    late = add_action(session, m_idf, actor=idf, title="Envoyer le bilan", owner="Coordination",
                        due_date=dt.date(2026, 1, 15))
    add_action(session, m_paca, actor=paca, title="Action paca", due_date=dt.date(2026, 1, 15))

    idf_decisions = session.scalars(decisions_query(idf)).all()
    assert [d.meeting_id for d in idf_decisions] == [m_idf.id]
    assert len(session.scalars(decisions_query(user(session, "national"))).all()) == 2
    assert session.scalars(decisions_query(idf, ListFilters(kind="decision"))).all() == []
    data = decisions_csv(idf_decisions)
    assert data.startswith("\ufeff".encode("utf-8"))
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(";")[:3] == ["Date", "Comité", "Région"]
    assert "12/03/2026" in lines[1] and "'=HYPERLINK" in lines[1] and '"Cinéma; « Le Méliès »"' in lines[1]
    assert "marseillaise" not in data.decode("utf-8-sig")

    overdue = session.scalars(actions_query(idf, ListFilters(overdue_on=dt.date(2026, 2, 1)))).all()
    assert [a.id for a in overdue] == [late.id]
    set_action_status(session, late, actor=idf, status="faite")
    assert session.scalars(actions_query(idf, ListFilters(overdue_on=dt.date(2026, 2, 1)))).all() == []
    with pytest.raises(NotFound):
        get_action(session, paca, late.id)
    with pytest.raises(ValidationError):
        set_action_status(session, late, actor=idf, status="oubliee")
    text = actions_csv([late]).decode("utf-8-sig")
    assert "15/01/2026;Envoyer le bilan;Coordination;Faite" in text


def test_compliance_report(session: Any) -> None:
    idf = user(session, "idf")
    today = dt.date(2026, 6, 15)
    report = compliance(session, idf, today=today, draft_days=30)
    assert {c.slug for c, _next in report.not_met} == {"national", "regional-11"}
    held = schedule(session, day=dt.date(2026, 3, 12))
    planned = schedule(session, "national", "national", day=dt.date(2026, 11, 5))
    add_action(session, held, actor=idf, title="Relancer la DRAC", due_date=dt.date(2026, 6, 1))
    add_action(session, held, actor=idf, title="Plus tard", due_date=dt.date(2026, 9, 1))
    report = compliance(session, idf, today=today, draft_days=30)
    assert [(c.slug, n.id if n else None) for c, n in report.not_met] == [("national", planned.id)]
    assert [m.id for m in report.minutes_late] == [held.id]
    assert [a.title for a in report.actions_overdue] == ["Relancer la DRAC"]
    # A meeting later this year does not count as having met; national staff see every region.
    national_report = compliance(session, user(session, "national"), today=today)
    assert len(national_report.not_met) == 18
    # With a longer grace period, the draft is not late yet.
    assert compliance(session, idf, today=today, draft_days=120).minutes_late == []
    counts = dashboard_counts(session, idf, today=today)
    assert (counts["not_met"], counts["minutes_late"], counts["actions_overdue"]) == (1, 1, 1)
    assert [m.id for m in counts["upcoming"]] == [planned.id]


# --------------------------------------------------------------------------- feeds and index


def test_feed_token_is_hashed_and_revocable(session: Any) -> None:
    idf = user(session, "idf")
    first = create_feed_token(session, idf)
    assert first.startswith("cal_") and len(first) > 40
    stored = session.scalars(select(CalendarToken.token_hash)).all()
    assert stored == [hashlib.sha256(first.encode()).hexdigest()]
    assert user_for_feed_token(session, first) is idf
    second = create_feed_token(session, idf)
    assert user_for_feed_token(session, first) is None
    assert user_for_feed_token(session, second) is idf
    assert revoke_feed_tokens(session, idf) == 1
    assert user_for_feed_token(session, second) is None
    for bad in ("", "cal_", "pi_" + second[4:], second + "x", "cal_" + "a" * 200):
        assert user_for_feed_token(session, bad) is None


def test_my_meetings_and_index_entry(session: Any) -> None:
    idf = user(session, "idf")
    own = schedule(session, day=dt.date.today() + dt.timedelta(days=10))
    national = schedule(session, "national", "national", day=dt.date.today() + dt.timedelta(days=20))
    paca = schedule(session, "regional-93", "paca", day=dt.date.today() + dt.timedelta(days=5))
    assert [m.id for m in my_meetings(session, idf)] == [own.id]
    add_member(session, committee(session, "national"), actor=user(session, "national"), user_id=idf.id)
    assert [m.id for m in my_meetings(session, idf)] == [own.id, national.id]
    assert [m.id for m in my_meetings(session, user(session, "national"))] == [national.id]
    assert paca.id not in [m.id for m in my_meetings(session, user(session, "admin"))]

    add_decision(session, own, actor=idf, data=DecisionInput(
        kind="validation_projet", project_name="Ciné-jeunes", porteur="MJC"))
    entry = index_entry_for_meeting(session, own.id)
    assert (entry.id, entry.kind, entry.region, entry.status) == (f"meeting:{own.id}", "meeting", "11", "aucun")
    assert "Validation des projets" in entry.text and "Ciné-jeunes" in entry.text
    assert index_entry_for_meeting(session, national.id).region == "national"
    assert index_entry_for_meeting(session, 987654) is None
    entry.to_fields()  # the search module accepts it



# --------------------------------------------------------------------------- edits: committee, roles, guests,
# decisions and actions


def audits(session: Any, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_update_committee(session: Any) -> None:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    meeting = schedule(session)
    session.execute(IndexOutbox.__table__.delete())
    session.commit()
    update_committee(session, com, actor=idf, name="  Comité   régional IDF ", description="Réunit la DRAC.\r\nEt la Région.",
                       active=False)
    assert (com.name, com.description, com.active) == ("Comité régional IDF", "Réunit la DRAC.\nEt la Région.", False)
    [event] = audits(session, "committee.update")
    assert event.details["changed"] == ["active", "description", "name"]
    assert event.details["from"] == "Comité de pilotage régional – Île-de-France" and event.region_code == "11"
    # The meetings' search entries carry the committee's name: they are queued again.
    assert [q.object_id for q in session.scalars(select(IndexOutbox))] == [meeting.id]
    assert com.id not in {c.id for c in session.scalars(visible_committees(idf))}
    assert com.id in {c.id for c in session.scalars(visible_committees(idf, include_inactive=True))}
    session.commit()
    with pytest.raises(CommitteeError):
        schedule(session)
    session.rollback()
    # Saving the same values is not a change: nothing logged.
    update_committee(session, com, actor=idf, name=com.name, description=com.description, active=False)
    assert len(audits(session, "committee.update")) == 1
    session.commit()
    with pytest.raises(ValidationError) as err:
        update_committee(session, com, actor=idf, name="  ", active=True)
    assert set(err.value.errors) == {"name"}
    with pytest.raises(NotFound):
        update_committee(session, committee(session, "regional-93"), actor=idf, name="Intrus")
    with pytest.raises(PermissionDenied):
        update_committee(session, committee(session, "national"), actor=idf, name="Intrus")
    with pytest.raises(PermissionDenied):
        update_committee(session, com, actor=user(session, "lecteur_idf"), name="Intrus")
    session.rollback()
    session.expire_all()
    assert committee(session, "national").name == "Comité de pilotage national"
    assert committee(session, "regional-93").name.startswith("Comité de pilotage régional")
    assert committee(session, "regional-11").name == "Comité régional IDF"


def test_member_role_changes_coming_convocations_only(session: Any) -> None:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    nadia = add_member(session, com, actor=idf, name="Nadia Benali", email="nadia@melies.example")
    past = schedule(session, day=dt.date.today() - dt.timedelta(days=30))
    coming = schedule(session, day=dt.date.today() + dt.timedelta(days=30))
    set_member_role(session, nadia, actor=idf, role="president")
    assert nadia.role == "president" and nadia.role_label == "Président"
    roles = {m.id: next(a.role for a in m.attendance if a.member_id == nadia.id) for m in (past, coming)}
    assert roles == {past.id: "membre", coming.id: "president"}
    [event] = audits(session, "committee.member_role")
    assert (event.details["from"], event.details["to"], event.details["member"]) == ("membre", "president", nadia.id)
    with pytest.raises(ValidationError) as err:
        set_member_role(session, nadia, actor=idf, role="chef")
    assert set(err.value.errors) == {"role"}
    paca_member = committee(session, "regional-93").members[0]
    session.commit()
    with pytest.raises(NotFound):
        set_member_role(session, paca_member, actor=idf, role="invite")
    with pytest.raises(PermissionDenied):
        set_member_role(session, nadia, actor=user(session, "lecteur_idf"), role="invite")
    session.rollback()
    session.expire_all()
    assert paca_member.role == "president" and session.get(type(nadia), nadia.id).role == "president"
    # Removal keeps the name on past records; the removal is logged.
    remove_member(session, nadia, actor=idf)
    assert [a.name for a in past.attendance if a.member_id is None] == ["Nadia Benali"]
    assert len(audits(session, "committee.member_remove")) == 1
    with pytest.raises(NotFound):
        remove_member(session, paca_member, actor=idf)


def test_guest_of_one_meeting(session: Any, notifier: Notifier, outbox: Path) -> None:
    idf = user(session, "idf")
    com = committee(session, "regional-11")
    add_member(session, com, actor=idf, name="Nadia Benali", email="nadia@melies.example")
    meeting = schedule(session, notifier=notifier)
    other = schedule(session, day=dt.date(2026, 6, 1))
    assert len(deliver_mail(session, outbox)) == 1
    guest = invite_guest(session, meeting, actor=idf, name=" Léa   Durand ", organisation="Rectorat de Créteil",
                           email="Lea.Durand@ac-creteil.example", notifier=notifier)
    assert (guest.name, guest.email, guest.role, guest.guest, guest.member_id) == (
        "Léa Durand", "lea.durand@ac-creteil.example", "invite", True, None)
    # She is on this meeting's list only, and alone gets the convocation now.
    assert [a.name for a in meeting.attendance] == ["DRAC Île-de-France", "Nadia Benali", "Léa Durand"]
    assert "Léa Durand" not in [a.name for a in other.attendance]
    sender = "intranet@passeurs.local"
    sent = sorted((sorted(set(m.recipients) - {sender}), m.subject.split(" : ")[0]) for m in deliver_mail(session, outbox))
    assert sent == [(["lea.durand@ac-creteil.example"], "[Passeurs d'images] Convocation"),
                    (["nadia@melies.example"], "[Passeurs d'images] Convocation")]
    assert recipients(meeting) == ["lea.durand@ac-creteil.example", "nadia@melies.example"]
    assert recipients(other) == ["nadia@melies.example"]
    # The later mails of the meeting reach her too.
    cancel_meeting(session, meeting, actor=idf, notifier=notifier)
    [cancel] = [m for m in deliver_mail(session, outbox) if "Annulation" in m.subject]
    assert sorted(set(cancel.recipients) - {sender}) == ["lea.durand@ac-creteil.example", "nadia@melies.example"]
    session.commit()
    with pytest.raises(CommitteeError):
        invite_guest(session, meeting, actor=idf, name="Trop tard")
    session.rollback()
    # The guest is in the minutes' attendance like anyone else.
    record_attendance(session, other, actor=idf, entries={})
    second = invite_guest(session, other, actor=idf, name="Paul Martin", organisation="Ville de Montreuil")
    record_attendance(session, other, actor=idf, entries={second.id: ("present", "")})
    values = minutes_values(session, other)
    assert {"nom": "Paul Martin", "qualite": "Invité", "organisme": "Ville de Montreuil"} in values["presents"]
    [add1, _second_add] = audits(session, "meeting.guest_add")
    assert add1.details == {"attendance": guest.id, "name": "Léa Durand", "email": True}
    with pytest.raises(ValidationError) as err:
        invite_guest(session, other, actor=idf, name="", email="nadia@melies.example")
    assert set(err.value.errors) == {"name", "email"}
    with pytest.raises(ValidationError) as err:
        invite_guest(session, other, actor=idf, name="X", email="a@b.fr, c@d.fr")
    assert set(err.value.errors) == {"email"}
    paca_meeting = schedule(session, "regional-93", "paca")
    with pytest.raises(NotFound):
        invite_guest(session, paca_meeting, actor=idf, name="Intrus")
    national = schedule(session, "national", "national")
    session.commit()
    with pytest.raises(PermissionDenied):
        invite_guest(session, national, actor=idf, name="Intrus")
    with pytest.raises(PermissionDenied):
        invite_guest(session, other, actor=user(session, "lecteur_idf"), name="Intrus")
    session.rollback()
    # Only guests are withdrawn this way; members leave through the committee.
    member_row = other.attendance[0]
    session.commit()
    with pytest.raises(NotFound):
        remove_guest(session, other, actor=idf, attendance_id=member_row.id)
    with pytest.raises(PermissionDenied):
        remove_guest(session, other, actor=user(session, "lecteur_idf"), attendance_id=second.id)
    session.rollback()
    remove_guest(session, other, actor=idf, attendance_id=second.id)
    assert "Paul Martin" not in [a.name for a in other.attendance]
    assert audits(session, "meeting.guest_remove")[0].details["name"] == "Paul Martin"
    assert [a.name for a in paca_meeting.attendance] == [paca_meeting.committee.members[0].display_name]


def test_update_decision_and_delete_action(session: Any, storage: LocalStorage) -> None:
    idf = user(session, "idf")
    meeting = schedule(session)
    first = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Bilan adopté."))
    decision = add_decision(session, meeting, actor=idf, data=DecisionInput(text="Valider Ciné-jeunes."))
    action = add_action(session, meeting, actor=idf, title="Signer la convention", decision_id=decision.id)
    quartier = session.scalar(select(Quartier).where(Quartier.region_code == "11").order_by(Quartier.code))
    session.execute(IndexOutbox.__table__.delete())
    session.commit()
    update_decision(session, meeting, actor=idf, decision_id=decision.id, data=DecisionInput(
        kind="validation_projet", project_name="Ciné-jeunes", porteur="MJC de Pantin",
        quartier_code=quartier.code))
    assert [d.id for d in meeting.decisions] == [first.id, decision.id]
    assert (decision.kind, decision.project_name, decision.quartier_code, decision.commune, decision.position) == (
        "validation_projet", "Ciné-jeunes", quartier.code, quartier.communes[:200], 1)
    assert action.decision_id == decision.id
    assert "Ciné-jeunes" in index_entry_for_meeting(session, meeting.id).text
    assert [q.object_id for q in session.scalars(select(IndexOutbox))] == [meeting.id]
    [event] = audits(session, "meeting.decision_update")
    assert event.details["before_text"] == "Valider Ciné-jeunes." and "project_name" in event.details["changed"]
    with pytest.raises(ValidationError) as err:
        update_decision(session, meeting, actor=idf, decision_id=decision.id, data=DecisionInput(text=""))
    assert set(err.value.errors) == {"text"}
    paca_q = session.scalar(select(Quartier.code).where(Quartier.region_code == "93"))
    session.commit()
    with pytest.raises(ValidationError) as err:
        update_decision(session, meeting, actor=idf, decision_id=decision.id, data=DecisionInput(
            kind="validation_projet", project_name="P", porteur="X", quartier_code=paca_q))
    assert set(err.value.errors) == {"quartier_code"}
    with pytest.raises(NotFound):
        update_decision(session, meeting, actor=idf, decision_id=999999, data=DecisionInput(text="X"))
    with pytest.raises(PermissionDenied):
        update_decision(session, meeting, actor=user(session, "lecteur_idf"), decision_id=first.id,
                          data=DecisionInput(text="Intrus"))
    with pytest.raises(NotFound):
        update_decision(session, meeting, actor=user(session, "paca"), decision_id=first.id,
                          data=DecisionInput(text="Intrus"))
    with pytest.raises(NotFound):
        delete_action(session, action, actor=user(session, "paca"))
    with pytest.raises(PermissionDenied):
        delete_action(session, action, actor=user(session, "lecteur_idf"))
    session.rollback()
    session.expire_all()
    assert first.text == "Bilan adopté." and len(meeting.actions) == 1

    delete_action(session, action, actor=idf)
    assert meeting.actions == [] and count(session, ActionItem) == 0
    assert audits(session, "meeting.action_delete")[0].details["title"] == "Signer la convention"
    # Once the minutes are approved, decisions and actions are the record: no more edits or deletions.
    kept = add_action(session, meeting, actor=idf, title="Relancer la mairie")
    draft_minutes(session, storage, meeting, actor=idf)
    submit_minutes(session, meeting, actor=idf)
    approve_minutes(session, meeting, actor=idf)
    session.commit()
    with pytest.raises(CommitteeError):
        update_decision(session, meeting, actor=idf, decision_id=first.id, data=DecisionInput(text="Autre"))
    with pytest.raises(CommitteeError):
        delete_action(session, kept, actor=idf)
    session.rollback()
    session.expire_all()
    assert first.text == "Bilan adopté." and [a.title for a in meeting.actions] == ["Relancer la mairie"]
