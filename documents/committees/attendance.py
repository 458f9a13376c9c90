"""Who is convened to a meeting (members and one-off guests) and who came."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from documents import audit
from documents.committees.errors import CommitteeError
from documents.committees.notifications import Notifier, notify
from documents.committees.scope import require_manage
from documents.db import utcnow
from documents.errors import NotFound, ValidationError
from documents.mail import valid_address
from documents.models import (
    Attendance,
    AttendanceStatus,
    CommitteeMember,
    Meeting,
    MemberRole,
    MinutesStatus,
    User,
)


def invite_all(meeting: Meeting, members: Iterable[CommitteeMember]) -> None:
    """Convene each of ``members`` not convened yet, with their current role."""
    invited = {a.member_id for a in meeting.attendance}
    for member in members:
        if member.id not in invited:
            meeting.attendance.append(Attendance(member_id=member.id, name=member.display_name,
                                                 organisation=member.organisation, role=member.role))


def invite_member(session: Session, meeting: Meeting, *, actor: User | None, member_id: int,
                  ip: str = "") -> Attendance:
    """Invite one member of the committee who was not invited yet."""
    require_manage(actor, meeting)
    member = session.get(CommitteeMember, member_id)
    if member is None or member.committee_id != meeting.committee_id:
        raise ValidationError("Cette personne n'est pas membre du comité.", errors={"member_id": "Membre inconnu."})
    existing = next((a for a in meeting.attendance if a.member_id == member_id), None)
    if existing is not None:
        return existing
    invite_all(meeting, [member])
    session.flush()
    audit.record(session, "meeting.invite", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"member": member_id})
    session.flush()
    return next(a for a in meeting.attendance if a.member_id == member_id)


def invite_guest(session: Session, meeting: Meeting, *, actor: User | None, name: str, organisation: str = "",
                 email: str = "", notifier: Notifier | None = None, ip: str = "") -> Attendance:
    """Invite a one-off guest to this meeting only; they get the convocation and the meeting's later mails."""
    require_manage(actor, meeting)
    if meeting.cancelled:
        raise CommitteeError("Cette réunion est annulée : on n'y invite plus personne.")
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())[:200]
    organisation = " ".join((organisation or "").split())[:300]
    email = (email or "").strip().lower()[:254]
    if not name:
        errors["name"] = "Indiquez le nom de la personne invitée."
    if email and not valid_address(email):
        errors["email"] = "Adresse e-mail invalide : une seule adresse, sans nom ni espace."
    elif email and any(a.guest and a.email == email for a in meeting.attendance):
        errors["email"] = "Cette personne est déjà invitée à la réunion."
    elif email and any(a.member is not None and a.member.contact_email.lower() == email for a in meeting.attendance):
        errors["email"] = "Cette adresse est celle d'un membre déjà convoqué."
    if errors:
        raise ValidationError("L'invité n'a pas été ajouté.", errors=errors)
    row = Attendance(meeting=meeting, member_id=None, guest=True, name=name, organisation=organisation,
                     email=email, role=MemberRole.INVITE.value)
    session.add(row)
    session.flush()
    meeting.updated_at = utcnow()
    audit.record(session, "meeting.guest_add", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip,
                 details={"attendance": row.id, "name": name, "email": bool(email)})
    session.flush()
    if email:
        # Only the new guest gets the convocation: the members already have it.
        notify(session, meeting, notifier, "scheduled", actor=actor, only=[email])
    return row


def remove_guest(session: Session, meeting: Meeting, *, actor: User | None, attendance_id: int,
                 ip: str = "") -> None:
    """Withdraw a one-off guest's invitation (members are removed from the committee instead)."""
    require_manage(actor, meeting)
    row = next((a for a in meeting.attendance if a.id == attendance_id and a.guest), None)
    if row is None:
        raise NotFound("Cet invité n'est pas convoqué à la réunion.")
    if meeting.minutes_status == MinutesStatus.APPROUVE.value:
        raise CommitteeError("Le compte rendu est approuvé : la liste des présents ne change plus.")
    audit.record(session, "meeting.guest_remove", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"attendance": row.id, "name": row.name})
    meeting.attendance.remove(row)
    meeting.updated_at = utcnow()
    session.flush()


def record_attendance(session: Session, meeting: Meeting, *, actor: User | None,
                      entries: dict[int, tuple[str, str]], ip: str = "") -> Meeting:
    """Record attendance: {attendance id: (status, represented by)}; "représenté" needs a name."""
    require_manage(actor, meeting)
    rows = {a.id: a for a in meeting.attendance}
    errors: dict[str, str] = {}
    for attendance_id, (status, represented_by) in entries.items():
        row = rows.get(attendance_id)
        if row is None:
            raise ValidationError("Une des personnes n'est pas convoquée à cette réunion.")
        try:
            AttendanceStatus(status)
        except ValueError:
            errors[f"status-{attendance_id}"] = f"Statut inconnu pour {row.name}."
            continue
        represented_by = " ".join((represented_by or "").split())[:200]
        if status == AttendanceStatus.REPRESENTE.value and not represented_by:
            errors[f"rep-{attendance_id}"] = f"Indiquez qui représente {row.name}."
    if errors:
        raise ValidationError("Les présences n'ont pas été enregistrées.", errors=errors)
    counts: dict[str, int] = {}
    for attendance_id, (status, represented_by) in entries.items():
        row = rows[attendance_id]
        row.status = status
        row.represented_by = " ".join((represented_by or "").split())[:200] \
            if status == AttendanceStatus.REPRESENTE.value else ""
        counts[status] = counts.get(status, 0) + 1
    meeting.updated_at = utcnow()
    audit.record(session, "meeting.attendance", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details=counts)
    session.flush()
    return meeting
