"""Meeting verbs: scheduling, changes, attendance, guests, duplication and attached documents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from committeekit import at, audits, docx_file, schedule
from documents import archive
from documents.calendar import aware
from documents.committees.agenda import set_agenda_notes
from documents.committees.attachments import (
    attach_document,
    detach_document,
    readable_attachments,
    upload_attachment,
)
from documents.committees.attendance import (
    invite_guest,
    record_attendance,
    remove_guest,
)
from documents.committees.decisions import DecisionInput, add_decision
from documents.committees.errors import CommitteeError
from documents.committees.meetings import (
    MeetingInput,
    cancel_meeting,
    duplicate_meeting,
    schedule_meeting,
    update_meeting,
)
from documents.committees.members import add_member
from documents.committees.minutes import minutes_values
from documents.committees.notifications import Notifier, recipients
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.mail import read_outbox
from documents.models import Document, IndexOutbox
from documents.storage import LocalStorage
from testkit import committee, deliver_mail, user


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
