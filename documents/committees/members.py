"""Committee members: intranet accounts or outside contacts, and their role."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import audit
from documents.committees.scope import require_manage
from documents.db import utcnow
from documents.errors import ValidationError
from documents.mail import valid_address
from documents.models import (
    Attendance,
    Committee,
    CommitteeMember,
    Meeting,
    MeetingStatus,
    MemberRole,
    User,
)


def add_member(session: Session, committee: Committee, *, actor: User | None, role: str = MemberRole.MEMBRE.value,
               user_id: int | None = None, name: str = "", organisation: str = "", email: str = "",
               ip: str = "") -> CommitteeMember:
    """Add a member: an intranet account, or an external contact (name, organisation, e-mail)."""
    require_manage(actor, committee)
    errors: dict[str, str] = {}
    try:
        MemberRole(role)
    except ValueError:
        errors["role"] = "Choisissez un rôle : président, membre ou invité."
    name = " ".join((name or "").split())[:200]
    organisation = " ".join((organisation or "").split())[:300]
    email = (email or "").strip().lower()[:254]
    account = None
    if user_id is not None:
        account = session.get(User, user_id)
        if account is None or not account.active:
            errors["user_id"] = "Ce compte n'existe pas ou est désactivé."
        elif any(m.user_id == user_id for m in committee.members):
            errors["user_id"] = "Cette personne est déjà membre du comité."
        email = ""
    else:
        if not name:
            errors["name"] = "Indiquez le nom du contact (ou choisissez un compte de l'intranet)."
        if email and not valid_address(email):
            errors["email"] = "Adresse e-mail invalide : une seule adresse, sans nom ni espace."
    if errors:
        raise ValidationError("Le membre n'a pas été ajouté.", errors=errors)
    member = CommitteeMember(committee=committee, user_id=account.id if account else None, role=role,
                             name=name if account is None else (name or account.display_name),
                             organisation=organisation, email=email)
    session.add(member)
    session.flush()
    audit.record(session, "committee.member_add", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=committee.region_code, ip=ip,
                 details={"member": member.id, "role": role, "user": user_id})
    session.flush()
    return member


def remove_member(session: Session, member: CommitteeMember, *, actor: User | None, ip: str = "") -> None:
    """Remove a member (past attendance records keep their name)."""
    committee = member.committee
    require_manage(actor, committee)
    audit.record(session, "committee.member_remove", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=committee.region_code, ip=ip,
                 details={"member": member.id, "name": member.display_name})
    for attendance in session.scalars(select(Attendance).where(Attendance.member_id == member.id)):
        attendance.member_id = None
    committee.members.remove(member)
    session.flush()


def set_member_role(session: Session, member: CommitteeMember, *, actor: User | None, role: str,
                    ip: str = "") -> CommitteeMember:
    """Make a member président, membre or invité (also on the convocations of meetings still to come)."""
    committee = member.committee
    require_manage(actor, committee)
    try:
        MemberRole(role)
    except ValueError:
        raise ValidationError("Rôle inconnu.", errors={"role": "Choisissez un rôle : président, membre ou invité."}
                              ) from None
    before = member.role
    if role == before:
        return member
    member.role = role
    # Records of meetings already held keep the role the person had that day; the
    # convocations of coming meetings show the new one.
    now = utcnow()
    for row in session.scalars(select(Attendance).join(Meeting, Attendance.meeting_id == Meeting.id).where(
            Attendance.member_id == member.id, Meeting.starts_at >= now,
            Meeting.status != MeetingStatus.ANNULEE.value)):
        row.role = role
    audit.record(session, "committee.member_role", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=committee.region_code, ip=ip,
                 details={"member": member.id, "from": before, "to": role})
    session.flush()
    return member
