"""Committee operations: committees and members, meetings, attendance, minutes, decisions, actions.

Every verb takes an explicit session and plain values, checks permissions, writes the
audit log (and an index-outbox row for meetings) in the same transaction, and only flushes:
the caller's unit of work commits (``documents.unitofwork``). Notifications are rows of the
mail outbox written in that same transaction (``documents.mailqueue``): a rolled-back change
never sends a notification, and a mail failure never undoes the work.

Who sees what follows the archive (``documents.permissions``): national staff see every
committee; regional staff see their region's committees and, read-only, the national
committee; nobody else. Writing needs write rights on the committee's region. Members
of a committee who may read it may also comment on submitted minutes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import secrets
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from documents import archive, audit, locking, mailqueue, permissions
from documents.bounds import refuse_nul
from documents.regions import covered_codes
from documents.calendar import aware, meeting_ics
from documents.db import utcnow
from documents.errors import DomainError, NotFound, PermissionDenied, ValidationError
from documents.mail import Attachment, Message, valid_address
from documents.models import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    CalendarToken,
    Committee,
    CommitteeLevel,
    CommitteeMember,
    Decision,
    DecisionKind,
    DocStatus,
    DocType,
    Document,
    Meeting,
    MeetingDocument,
    MeetingStatus,
    MemberRole,
    MinutesComment,
    MinutesStatus,
    Organisation,
    Quartier,
    Region,
    User,
)
from documents.storage import Storage
from documents.tokens import token_hash

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
MINUTES_MODEL = "compte-rendu-comite"
DEFAULT_DRAFT_DAYS = 30
MAX_AGENDA_ITEMS = 60
MAX_TEXT = 20_000
MAX_COMMENT = 5_000


class CommitteeError(DomainError):
    """A committee operation was refused for a reason the user can fix."""

    status = 409


# --------------------------------------------------------------------------- time


def paris_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    """The UTC instant of a wall-clock time in Paris."""
    return dt.datetime.combine(day, time, tzinfo=PARIS).astimezone(dt.timezone.utc)


def local(value: dt.datetime) -> dt.datetime:
    """A stored instant as Paris wall-clock time."""
    return aware(value).astimezone(PARIS)


def when_fr(meeting: Meeting) -> str:
    """'jeudi 12 mars 2026 à 14:00' in Paris time."""
    start = local(meeting.starts_at)
    text = f"{babel_date(start.date(), 'EEEE d MMMM y', locale='fr_FR')} à {babel_time(start.time(), 'HH:mm', locale='fr_FR')}"
    if meeting.ends_at:
        text += f" – {babel_time(local(meeting.ends_at).time(), 'HH:mm', locale='fr_FR')}"
    return text


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return paris_datetime(dt.date(year, 1, 1), dt.time()), paris_datetime(dt.date(year + 1, 1, 1), dt.time())


# --------------------------------------------------------------------------- scope


def _scoped(stmt: Select[Any], column: Any, user: User | None) -> Select[Any]:
    allowed = permissions.visible_regions(user)
    if allowed is None:
        return stmt
    regions = sorted(r for r in allowed if r != permissions.NATIONAL)
    conditions = []
    if permissions.NATIONAL in allowed:
        conditions.append(column.is_(None))
    if regions:
        conditions.append(column.in_(regions))
    return stmt.where(or_(*conditions)) if conditions else stmt.where(false())


def can_read(user: User | None, obj: Committee | Meeting) -> bool:
    """True if ``user`` may see this committee or meeting."""
    return permissions.can_read_region(user, obj.region_code)


def can_manage(user: User | None, obj: Committee | Meeting) -> bool:
    """True if ``user`` may change this committee or meeting."""
    return permissions.can_write_region(user, obj.region_code)


def is_member(user: User | None, committee: Committee) -> bool:
    """True if ``user`` is listed among the committee's members."""
    return user is not None and any(m.user_id == user.id for m in committee.members)


def can_comment(user: User | None, meeting: Meeting) -> bool:
    """Members (and the staff who run the committee) comment on submitted minutes."""
    return can_read(user, meeting) and (can_manage(user, meeting) or is_member(user, meeting.committee))


def _require_manage(user: User | None, obj: Committee | Meeting) -> None:
    if not can_read(user, obj):
        raise NotFound("Comité ou réunion introuvable.")
    if not can_manage(user, obj):
        raise PermissionDenied("Vous pouvez consulter ce comité mais pas le modifier.")


def visible_committees(user: User | None, *, include_inactive: bool = False) -> Select[tuple[Committee]]:
    """Committees ``user`` may see (scope applied in SQL), national first."""
    stmt = select(Committee)
    if not include_inactive:
        stmt = stmt.where(Committee.active.is_(True))
    level_order = func.coalesce(Committee.region_code, "")
    return _scoped(stmt, Committee.region_code, user).order_by(level_order, Committee.level.desc(), Committee.name)


def visible_meetings(user: User | None) -> Select[tuple[Meeting]]:
    """Meetings ``user`` may see (scope applied in SQL)."""
    return _scoped(select(Meeting), Meeting.region_code, user)


def get_committee(session: Session, user: User | None, committee_id: int) -> Committee:
    """The committee if ``user`` may see it; NotFound otherwise (no hint that it exists)."""
    committee = session.get(Committee, committee_id)
    if committee is None or not can_read(user, committee):
        raise NotFound("Comité introuvable.")
    return committee


def get_meeting(session: Session, user: User | None, meeting_id: int) -> Meeting:
    """The meeting if ``user`` may see it; NotFound otherwise (no hint that it exists)."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or not can_read(user, meeting):
        raise NotFound("Réunion introuvable.")
    return meeting


# --------------------------------------------------------------------------- notifications


@dataclass
class Notifier:
    """How verbs reach members: notifications go to the mail outbox, with the meeting's address."""

    meeting_url: Callable[[Meeting], str] = field(default=lambda _m: "")


def recipients(meeting: Meeting) -> list[str]:
    """E-mail addresses of the invited members (all members if nobody was invited yet) and of the guests."""
    members = [a.member for a in meeting.attendance if a.member is not None] or list(meeting.committee.members)
    addresses = {m.contact_email.lower() for m in members if valid_address(m.contact_email)}
    addresses |= {a.email.lower() for a in meeting.attendance if a.guest and valid_address(a.email)}
    return sorted(addresses)


def _meeting_lines(meeting: Meeting, url: str) -> list[str]:
    lines = [f"Comité : {meeting.committee.name}", f"Réunion : {meeting.title}", f"Date : {when_fr(meeting)}"]
    if meeting.place:
        lines.append(f"Lieu : {meeting.place}")
    if meeting.visio_url:
        lines.append(f"Visioconférence : {meeting.visio_url}")
    if meeting.agenda:
        lines.append("")
        lines.append("Ordre du jour :")
        lines.extend(f"  {i}. {item.title}" for i, item in enumerate(meeting.agenda, start=1))
    if url:
        lines += ["", f"Détails, documents et compte rendu : {url}"]
    return lines


def _notify(session: Session, meeting: Meeting, notifier: Notifier | None, kind: str, *,
            actor: User | None, only: list[str] | None = None) -> int:
    """Queue one notification about ``meeting`` (to everyone, or ``only`` these addresses); count recipients."""
    if notifier is None:
        return 0
    to = recipients(meeting) if only is None else only
    if not to:
        return 0
    url = notifier.meeting_url(meeting)
    day = local(meeting.starts_at).strftime("%d/%m/%Y")
    subjects = {
        "scheduled": f"Convocation : {meeting.committee.name} du {day}",
        "changed": f"Modification : {meeting.committee.name} du {day}",
        "cancelled": f"Annulation : {meeting.committee.name} du {day}",
        "submitted": f"Compte rendu à relire : {meeting.committee.name} du {day}",
        "approved": f"Compte rendu approuvé : {meeting.committee.name} du {day}",
    }
    intros = {
        "scheduled": "Vous êtes convoqué(e) à la réunion suivante.",
        "changed": "La réunion suivante a été modifiée : l'invitation jointe remplace la précédente.",
        "cancelled": "La réunion suivante est annulée.",
        "submitted": ("Le projet de compte rendu de la réunion suivante est soumis aux membres. "
                      "Vos remarques sont attendues dans l'intranet."),
        "approved": "Le compte rendu de la réunion suivante a été approuvé.",
    }
    body = "\n".join(["Bonjour,", "", intros[kind], "", *_meeting_lines(meeting, url), "",
                      "— Intranet Passeurs d'images (message automatique)"])
    attachments = []
    if kind in ("scheduled", "changed", "cancelled"):
        attachments.append(Attachment("invitation.ics", "text/calendar", meeting_ics(meeting, url=url)))
    # A row of the outbox, in this transaction: it goes out only if the change is committed.
    mailqueue.enqueue(session, Message(to=to, subject=f"[Passeurs d'images] {subjects[kind]}", body=body,
                                       attachments=attachments), origin=f"meeting:{meeting.id}:{kind}")
    audit.record(session, "meeting.notify", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, details={"kind": kind, "recipients": len(to)})
    session.flush()
    return len(to)


# --------------------------------------------------------------------------- committees


def ensure_committees(session: Session) -> int:
    """Create the national committee and one regional committee per current region (idempotent); flush only."""
    existing = set(session.scalars(select(Committee.slug).where(Committee.slug.is_not(None))))
    created = 0
    orgs = {o.slug: o for o in session.scalars(select(Organisation).where(
        Organisation.kind.in_(["drac", "signataire"])))}
    drac_by_region = {o.region_code: o for o in orgs.values() if o.kind == "drac"}

    def add(slug: str, name: str, level: CommitteeLevel, region_code: str | None, org: Organisation | None,
            description: str) -> None:
        nonlocal created
        if slug in existing:
            return
        committee = Committee(slug=slug, name=name, level=level.value, region_code=region_code,
                              organisation_id=org.id if org else None, description=description)
        if org is not None:
            # The chairing body is the first member, as président; an admin adds the people.
            committee.members.append(CommitteeMember(
                name=org.representative or org.short_name or org.name, organisation=org.name,
                email=org.email or "", role=MemberRole.PRESIDENT.value))
        session.add(committee)
        created += 1

    add("national", "Comité de pilotage national", CommitteeLevel.NATIONAL, None, orgs.get("cnc"),
        "Présidé par le CNC ; se réunit au moins une fois par an ; fixe les orientations et les "
        "modalités d'évaluation du dispositif.")
    # Today's regions only: the committees of the 2009 regions stay closed with their history.
    for region in session.scalars(select(Region).where(Region.valid_until.is_(None)).order_by(Region.code)):
        add(f"regional-{region.code}", f"Comité de pilotage régional – {region.name}", CommitteeLevel.REGIONAL,
            region.code, drac_by_region.get(region.code),
            "Mis en place par la DRAC ; se réunit au moins une fois par an ; valide les projets locaux.")
    session.flush()
    return created


def create_committee(session: Session, *, actor: User | None, name: str, region_code: str | None,
                     description: str = "", organisation_id: int | None = None, ip: str = "") -> Committee:
    """Add a local committee (a coordination locale's committee of partners) to a region."""
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())[:300]
    if not name:
        errors["name"] = "Le nom du comité est obligatoire."
    region_code = (region_code or "").strip() or None
    if region_code is None:
        errors["region_code"] = "Un comité local appartient à une région : choisissez-la."
    elif (region := session.get(Region, region_code)) is None:
        errors["region_code"] = f"Aucune région n'a le code {region_code}."
    elif region.successor_code is not None:
        errors["region_code"] = (f"La région {region.name} n'existe plus depuis 2016 : créez le comité dans "
                                 f"sa région d'aujourd'hui ({region.successor_code}).")
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        errors["organisation_id"] = "Cette organisation n'existe pas dans le référentiel."
    if errors:
        raise ValidationError("Le comité n'a pas été créé.", errors=errors)
    if not permissions.can_write_region(actor, region_code):
        raise PermissionDenied("Vous ne pouvez pas créer de comité dans cette région.")
    committee = Committee(name=name, level=CommitteeLevel.LOCAL.value, region_code=region_code,
                          description=(description or "")[:MAX_TEXT], organisation_id=organisation_id,
                          created_by_id=actor.id if actor else None)
    session.add(committee)
    session.flush()
    audit.record(session, "committee.create", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=region_code, ip=ip, details={"name": name})
    session.flush()
    return committee


def add_member(session: Session, committee: Committee, *, actor: User | None, role: str = MemberRole.MEMBRE.value,
               user_id: int | None = None, name: str = "", organisation: str = "", email: str = "",
               ip: str = "") -> CommitteeMember:
    """Add a member: an intranet account, or an external contact (name, organisation, e-mail)."""
    _require_manage(actor, committee)
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
    _require_manage(actor, committee)
    audit.record(session, "committee.member_remove", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=committee.region_code, ip=ip,
                 details={"member": member.id, "name": member.display_name})
    for attendance in session.scalars(select(Attendance).where(Attendance.member_id == member.id)):
        attendance.member_id = None
    committee.members.remove(member)
    session.flush()


def update_committee(session: Session, committee: Committee, *, actor: User | None, name: str,
                     description: str = "", active: bool = True, ip: str = "") -> Committee:
    """Change a committee's name, description, and whether it is still active."""
    _require_manage(actor, committee)
    name = " ".join((name or "").split())[:300]
    if not name:
        raise ValidationError("Le comité n'a pas été modifié.", errors={"name": "Le nom du comité est obligatoire."})
    description = (description or "").replace("\r\n", "\n")[:MAX_TEXT]
    before = {"name": committee.name, "description": committee.description or "", "active": bool(committee.active)}
    after = {"name": name, "description": description, "active": bool(active)}
    changed = sorted(k for k in after if after[k] != before[k])
    if not changed:
        return committee
    committee.name, committee.description, committee.active = name, description, bool(active)
    if "name" in changed:
        # The committee's name is part of each meeting's search entry and title.
        for meeting_id in session.scalars(select(Meeting.id).where(Meeting.committee_id == committee.id)):
            archive.enqueue(session, meeting_id, object_type="meeting")
    audit.record(session, "committee.update", actor=actor, object_type="committee", object_id=committee.id,
                 region_code=committee.region_code, ip=ip,
                 details={"changed": changed, **({"from": before["name"], "to": name} if "name" in changed else {}),
                          **({"active": bool(active)} if "active" in changed else {})})
    session.flush()
    return committee


def set_member_role(session: Session, member: CommitteeMember, *, actor: User | None, role: str,
                    ip: str = "") -> CommitteeMember:
    """Make a member président, membre or invité (also on the convocations of meetings still to come)."""
    committee = member.committee
    _require_manage(actor, committee)
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


# --------------------------------------------------------------------------- meetings


@dataclass
class MeetingInput:
    """What a user gives when scheduling or changing a meeting."""

    starts_at: dt.datetime | None
    title: str = ""
    ends_at: dt.datetime | None = None
    place: str = ""
    visio_url: str = ""
    notes: str = ""
    #: Agenda item titles in order; None keeps the current agenda.
    agenda: list[str] | None = None


def _clean_meeting(committee: Committee, data: MeetingInput) -> MeetingInput:
    refuse_nul(vars(data))
    errors: dict[str, str] = {}
    title = " ".join((data.title or "").split())[:300] or "Réunion du comité"
    if data.starts_at is None:
        errors["starts_at"] = "Indiquez la date et l'heure de la réunion."
    # Out-of-range years are refused before any offset arithmetic (year 9999 + offset overflows).
    for name in ("starts_at", "ends_at"):
        value = getattr(data, name)
        if value is not None and not 1990 <= value.year <= 2200:
            raise ValidationError("La réunion n'a pas été enregistrée.",
                                  errors={name: "La date doit être comprise entre 1990 et 2200."})
    # Stored in UTC whatever offset was given, so that every reader sees the same value.
    starts = aware(data.starts_at).astimezone(dt.timezone.utc) if data.starts_at else None
    ends = aware(data.ends_at).astimezone(dt.timezone.utc) if data.ends_at else None
    if starts and ends and ends <= starts:
        errors["ends_at"] = "L'heure de fin doit suivre l'heure de début."
    if starts and not 1990 <= starts.year <= 2200:
        errors["starts_at"] = "La date de la réunion doit être comprise entre 1990 et 2200."
    place = " ".join((data.place or "").split())[:500]
    visio = (data.visio_url or "").strip()[:500]
    if visio and (not visio.lower().startswith(("https://", "http://")) or any(c.isspace() for c in visio)):
        errors["visio_url"] = "Le lien de visioconférence doit être une adresse web (https://…)."
    if not place and not visio:
        errors["place"] = "Indiquez un lieu ou un lien de visioconférence."
    agenda = None
    if data.agenda is not None:
        agenda = [" ".join(t.split())[:500] for t in data.agenda if t and t.strip()]
        if len(agenda) > MAX_AGENDA_ITEMS:
            errors["agenda"] = f"L'ordre du jour compte plus de {MAX_AGENDA_ITEMS} points : regroupez-les."
    if errors:
        raise ValidationError("La réunion n'a pas été enregistrée.", errors=errors)
    return MeetingInput(starts_at=starts, title=title, ends_at=ends, place=place, visio_url=visio,
                        notes=(data.notes or "")[:MAX_TEXT], agenda=agenda)


def _invite_all(meeting: Meeting, members: Iterable[CommitteeMember]) -> None:
    invited = {a.member_id for a in meeting.attendance}
    for member in members:
        if member.id not in invited:
            meeting.attendance.append(Attendance(member_id=member.id, name=member.display_name,
                                                 organisation=member.organisation, role=member.role))


def schedule_meeting(session: Session, committee: Committee, *, actor: User | None, data: MeetingInput,
                     notifier: Notifier | None = None, ip: str = "") -> Meeting:
    """Schedule a meeting, invite every member, and send them the invitation."""
    _require_manage(actor, committee)
    if not committee.active:
        raise CommitteeError("Ce comité est désactivé : il ne peut plus se réunir.")
    clean = _clean_meeting(committee, data)
    assert clean.starts_at is not None
    meeting = Meeting(committee=committee, region_code=committee.region_code, title=clean.title,
                      starts_at=clean.starts_at, ends_at=clean.ends_at, place=clean.place,
                      visio_url=clean.visio_url, notes=clean.notes,
                      created_by_id=actor.id if actor else None)
    for position, title in enumerate(clean.agenda or []):
        meeting.agenda.append(AgendaItem(position=position, title=title))
    session.add(meeting)
    session.flush()
    _invite_all(meeting, committee.members)
    session.flush()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "meeting.create", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip,
                 details={"committee": committee.id, "starts_at": clean.starts_at.isoformat()})
    session.flush()
    _notify(session, meeting, notifier, "scheduled", actor=actor)
    return meeting


def update_meeting(session: Session, meeting: Meeting, *, actor: User | None, data: MeetingInput,
                   notifier: Notifier | None = None, ip: str = "") -> Meeting:
    """Change a meeting; members are told when its date, time or place changed."""
    _require_manage(actor, meeting)
    clean = _clean_meeting(meeting.committee, data)
    before = {"title": meeting.title, "starts_at": aware(meeting.starts_at),
              "ends_at": aware(meeting.ends_at) if meeting.ends_at else None,
              "place": meeting.place, "visio_url": meeting.visio_url, "notes": meeting.notes}
    after = {"title": clean.title, "starts_at": clean.starts_at, "ends_at": clean.ends_at, "place": clean.place,
             "visio_url": clean.visio_url, "notes": clean.notes}
    changed = sorted(k for k in after if after[k] != before[k])
    meeting.title, meeting.place, meeting.visio_url, meeting.notes = (
        clean.title, clean.place, clean.visio_url, clean.notes)
    assert clean.starts_at is not None
    meeting.starts_at, meeting.ends_at = clean.starts_at, clean.ends_at
    if clean.agenda is not None and clean.agenda != [item.title for item in meeting.agenda]:
        # Notes already taken on a point are kept when the point keeps its title.
        notes = {item.title: item.notes for item in meeting.agenda}
        meeting.agenda.clear()
        session.flush()
        for position, title in enumerate(clean.agenda):
            meeting.agenda.append(AgendaItem(position=position, title=title, notes=notes.get(title, "")))
        changed.append("agenda")
    if not changed:
        return meeting
    significant = bool({"starts_at", "ends_at", "place", "visio_url", "title", "agenda"} & set(changed))
    if significant:
        meeting.sequence = (meeting.sequence or 0) + 1
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "meeting.update", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"changed": changed})
    session.flush()
    if significant and not meeting.cancelled:
        _notify(session, meeting, notifier, "changed", actor=actor)
    return meeting


def cancel_meeting(session: Session, meeting: Meeting, *, actor: User | None, notifier: Notifier | None = None,
                   ip: str = "") -> Meeting:
    """Cancel a meeting (it stays listed, marked "annulée"); members are told."""
    _require_manage(actor, meeting)
    if meeting.cancelled:
        return meeting
    meeting.status = MeetingStatus.ANNULEE.value
    meeting.sequence = (meeting.sequence or 0) + 1
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "meeting.cancel", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip)
    session.flush()
    _notify(session, meeting, notifier, "cancelled", actor=actor)
    return meeting


def set_agenda_notes(session: Session, meeting: Meeting, *, actor: User | None, notes: dict[int, str],
                     ip: str = "") -> Meeting:
    """Record what was said on each agenda point (used to draft the minutes)."""
    _require_manage(actor, meeting)
    items = {item.id: item for item in meeting.agenda}
    unknown = [k for k in notes if k not in items]
    if unknown:
        raise ValidationError("Un des points n'appartient pas à l'ordre du jour de cette réunion.")
    for item_id, text in notes.items():
        items[item_id].notes = (text or "").replace("\r\n", "\n")[:MAX_TEXT]
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "meeting.notes", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"items": len(notes)})
    session.flush()
    return meeting


def invite_member(session: Session, meeting: Meeting, *, actor: User | None, member_id: int,
                  ip: str = "") -> Attendance:
    """Invite one member of the committee who was not invited yet."""
    _require_manage(actor, meeting)
    member = session.get(CommitteeMember, member_id)
    if member is None or member.committee_id != meeting.committee_id:
        raise ValidationError("Cette personne n'est pas membre du comité.", errors={"member_id": "Membre inconnu."})
    existing = next((a for a in meeting.attendance if a.member_id == member_id), None)
    if existing is not None:
        return existing
    _invite_all(meeting, [member])
    session.flush()
    audit.record(session, "meeting.invite", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"member": member_id})
    session.flush()
    return next(a for a in meeting.attendance if a.member_id == member_id)


def invite_guest(session: Session, meeting: Meeting, *, actor: User | None, name: str, organisation: str = "",
                 email: str = "", notifier: Notifier | None = None, ip: str = "") -> Attendance:
    """Invite a one-off guest to this meeting only; they get the convocation and the meeting's later mails."""
    _require_manage(actor, meeting)
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
        _notify(session, meeting, notifier, "scheduled", actor=actor, only=[email])
    return row


def remove_guest(session: Session, meeting: Meeting, *, actor: User | None, attendance_id: int,
                 ip: str = "") -> None:
    """Withdraw a one-off guest's invitation (members are removed from the committee instead)."""
    _require_manage(actor, meeting)
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
    _require_manage(actor, meeting)
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


def duplicate_meeting(session: Session, meeting: Meeting, *, actor: User | None, starts_at: dt.datetime,
                      ends_at: dt.datetime | None = None, notifier: Notifier | None = None,
                      ip: str = "") -> Meeting:
    """Prepare the next meeting from this one: same title, place, agenda points and members."""
    if not can_read(actor, meeting):
        raise NotFound("Réunion introuvable.")
    if ends_at is None and meeting.ends_at is not None:
        ends_at = aware(starts_at) + (aware(meeting.ends_at) - aware(meeting.starts_at))
    data = MeetingInput(starts_at=starts_at, ends_at=ends_at, title=meeting.title, place=meeting.place,
                        visio_url=meeting.visio_url, agenda=[item.title for item in meeting.agenda])
    copy = schedule_meeting(session, meeting.committee, actor=actor, data=data, notifier=None, ip=ip)
    copy.duplicated_from_id = meeting.id
    audit.record(session, "meeting.duplicate", actor=actor, object_type="meeting", object_id=copy.id,
                 region_code=copy.region_code, ip=ip, details={"from": meeting.id})
    session.flush()
    _notify(session, copy, notifier, "scheduled", actor=actor)
    return copy


# --------------------------------------------------------------------------- attached documents


def attach_document(session: Session, meeting: Meeting, *, actor: User | None, document_id: int,
                    ip: str = "") -> MeetingDocument:
    """Attach an archived document the committee's audience may read (its region or a predecessor, or national)."""
    _require_manage(actor, meeting)
    doc = archive.get_document(session, actor, document_id)
    if doc.region_code is not None and doc.region_code not in covered_codes(meeting.region_code):
        # Attaching another region's document would show a link its readers cannot open.
        raise ValidationError("Ce document appartient à une autre région : les membres du comité ne "
                              "pourraient pas l'ouvrir. Joignez un document de la région ou national.",
                              errors={"document_id": "Document d'une autre région."})
    if any(a.document_id == doc.id for a in meeting.attachments):
        raise ValidationError("Ce document est déjà joint à la réunion.", errors={"document_id": "Déjà joint."})
    link = MeetingDocument(meeting=meeting, document_id=doc.id, created_by_id=actor.id if actor else None)
    session.add(link)
    session.flush()
    audit.record(session, "meeting.attach", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"document": doc.id})
    session.flush()
    return link


def upload_attachment(session: Session, storage: Storage, meeting: Meeting, *, actor: User | None, path: Path,
                      filename: str, title: str = "", doc_type: str = DocType.AUTRE.value,
                      ip: str = "") -> Document:
    """File an uploaded document in the archive (region of the committee) and attach it."""
    _require_manage(actor, meeting)
    year = local(meeting.starts_at).year
    meta = archive.Metadata(title=title or Path(filename).stem or "Document de séance", doc_type=doc_type,
                            region_code=meeting.region_code, year=year,
                            keywords=["comité", meeting.committee.name[:100]])
    doc = archive.archive_document(session, storage, actor=actor, path=path, filename=filename, meta=meta,
                                   comment=f"Document de la réunion du {local(meeting.starts_at):%d/%m/%Y}",
                                   origin={"source": "meeting", "meeting": meeting.id}, ip=ip)
    attach_document(session, meeting, actor=actor, document_id=doc.id, ip=ip)
    return doc


def detach_document(session: Session, meeting: Meeting, *, actor: User | None, document_id: int,
                    ip: str = "") -> None:
    """Remove a document from the meeting (it stays in the archive)."""
    _require_manage(actor, meeting)
    link = next((a for a in meeting.attachments if a.document_id == document_id), None)
    if link is None:
        raise NotFound("Ce document n'est pas joint à la réunion.")
    meeting.attachments.remove(link)
    audit.record(session, "meeting.detach", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"document": document_id})
    session.flush()


def readable_attachments(user: User | None, meeting: Meeting) -> list[Document]:
    """The meeting's documents that ``user`` may open and that are not in the trash."""
    return [a.document for a in meeting.attachments
            if a.document is not None and not a.document.in_trash
            and permissions.can_read_region(user, a.document.region_code)]


# --------------------------------------------------------------------------- minutes


def _person(row: Attendance) -> dict[str, str]:
    return {"nom": row.name, "qualite": row.role_label, "organisme": row.organisation}


def _next_meeting(session: Session, meeting: Meeting) -> Meeting | None:
    return session.scalar(select(Meeting).where(
        Meeting.committee_id == meeting.committee_id, Meeting.starts_at > meeting.starts_at,
        Meeting.status != MeetingStatus.ANNULEE.value, Meeting.id != meeting.id,
    ).order_by(Meeting.starts_at).limit(1))


def minutes_values(session: Session, meeting: Meeting, *, redacteur: str = "") -> dict[str, Any]:
    """Raw values of the compte-rendu model, pre-filled from the meeting, attendance and agenda."""
    presents, excuses = [], []
    president = ""
    for row in meeting.attendance:
        if row.status == AttendanceStatus.PRESENT.value:
            presents.append(_person(row))
            if row.role == MemberRole.PRESIDENT.value and not president:
                president = row.name
        elif row.status == AttendanceStatus.REPRESENTE.value:
            presents.append({"nom": f"{row.represented_by} (pour {row.name})", "qualite": row.role_label,
                             "organisme": row.organisation})
        elif row.status == AttendanceStatus.EXCUSE.value:
            excuses.append(_person(row))
    decisions = []
    for decision in meeting.decisions:
        actions = [a for a in meeting.actions if a.decision_id == decision.id]
        owner = ", ".join(dict.fromkeys(a.owner for a in actions if a.owner))
        dues = sorted(a.due_date for a in actions if a.due_date)
        if decision.kind == DecisionKind.VALIDATION_PROJET.value:
            owner = owner or decision.porteur
        decisions.append({"decision": decision_sentence(decision), "responsable": owner,
                          "echeance": babel_date(dues[0], "d MMMM y", locale="fr_FR") if dues else ""})
    for action in meeting.actions:
        if action.decision_id is None:
            decisions.append({"decision": action.title, "responsable": action.owner,
                              "echeance": babel_date(action.due_date, "d MMMM y", locale="fr_FR")
                              if action.due_date else ""})
    following = _next_meeting(session, meeting)
    return {
        "comite": meeting.committee.name,
        "date_reunion": local(meeting.starts_at).date().isoformat(),
        "lieu_reunion": meeting.place or (f"Visioconférence ({meeting.visio_url})" if meeting.visio_url else ""),
        "president_seance": president,
        "presents": presents,
        "excuses": excuses,
        "ordre_du_jour": [{"titre": item.title, "compte_rendu": item.notes} for item in meeting.agenda],
        "decisions": decisions,
        "prochaine_reunion": local(following.starts_at).date().isoformat() if following else "",
        "prochaine_reunion_lieu": (following.place or "en visioconférence") if following else "",
        "redacteur": redacteur,
    }


def decision_sentence(decision: Decision) -> str:
    """A decision as one sentence; a project validation names the project, porteur, place and actions."""
    if decision.kind != DecisionKind.VALIDATION_PROJET.value:
        return decision.text
    where = ", ".join(p for p in (decision.commune, decision.quartier.names if decision.quartier else "") if p)
    sentence = f"Le comité valide le projet « {decision.project_name} » porté par {decision.porteur}"
    if where:
        sentence += f" ({where})"
    if decision.actions_concerned:
        sentence += f" ; actions concernées : {decision.actions_concerned}"
    sentence += "."
    if decision.text and decision.text not in sentence:
        sentence += f" {decision.text}"
    return sentence


def render_minutes(session: Session, meeting: Meeting, *, redacteur: str = "",
                   template_bytes: bytes | None = None) -> bytes:
    """The compte-rendu model filled with the meeting (a .docx, rendered in the sandboxed worker)."""
    from documents import generation

    data = template_bytes if template_bytes is not None else generation.builtin_model(MINUTES_MODEL).read_bytes()
    specs = generation.fields_for(data)
    # A draft may be incomplete (nobody marked present yet): required-field errors are not
    # fatal here, and validate_values still gives every field a value.
    values, _errors = generation.validate_values(specs, minutes_values(session, meeting, redacteur=redacteur))
    return generation.render(data, values)


#: The archive status a compte rendu shows in lists and search, for each step of its workflow:
#: submitted minutes are "en signature" (under the members' review), approved ones "signé".
DOC_STATUS_OF_MINUTES = {
    MinutesStatus.BROUILLON.value: DocStatus.BROUILLON.value,
    MinutesStatus.SOUMIS.value: DocStatus.EN_SIGNATURE.value,
    MinutesStatus.APPROUVE.value: DocStatus.SIGNE.value,
}


def _set_minutes_status(session: Session, meeting: Meeting, status: str) -> None:
    meeting.minutes_status = status
    doc = meeting.minutes_document
    if doc is not None and doc.status != DOC_STATUS_OF_MINUTES[status]:
        doc.status = DOC_STATUS_OF_MINUTES[status]
        archive.enqueue(session, doc.id)


def _minutes_title(meeting: Meeting) -> str:
    return f"Compte rendu – {meeting.committee.name} – {local(meeting.starts_at):%d/%m/%Y}"


def _file_minutes(session: Session, storage: Storage, meeting: Meeting, *, actor: User | None, path: Path,
                  filename: str, origin: dict[str, Any], comment: str, ip: str) -> Document:
    if meeting.minutes_status == MinutesStatus.SOUMIS.value:
        raise CommitteeError("Le compte rendu est soumis aux membres : repassez-le en brouillon avant de le "
                             "modifier, pour que les remarques portent sur la bonne version.")
    doc = meeting.minutes_document
    if doc is not None and doc.in_trash:
        doc = None
    if doc is None:
        meta = archive.Metadata(title=_minutes_title(meeting), doc_type=DocType.COMPTE_RENDU.value,
                                region_code=meeting.region_code, year=local(meeting.starts_at).year,
                                status=DocStatus.BROUILLON.value,
                                keywords=["comité de pilotage", meeting.committee.name[:100]])
        doc = archive.archive_document(session, storage, actor=actor, path=path, filename=filename, meta=meta,
                                       comment=comment, origin=origin, ip=ip)
        version = 1
    else:
        # Approved minutes are locked (documents.locking): add_version refuses a new version until an
        # administrator unlocks them; the approved version itself is never touched.
        version = archive.add_version(session, storage, doc, actor=actor, path=path, filename=filename,
                                      comment=comment, origin=origin, ip=ip).number
    meeting.minutes_document = doc
    reopened = meeting.minutes_status == MinutesStatus.APPROUVE.value
    _set_minutes_status(session, meeting, MinutesStatus.BROUILLON.value)
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "minutes.version", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip,
                 details={"document": doc.id, "version": version, "source": origin.get("source", ""),
                          "after_approval": reopened})
    session.flush()
    return doc


def draft_minutes(session: Session, storage: Storage, meeting: Meeting, *, actor: User | None, ip: str = "",
                  template_bytes: bytes | None = None) -> Document:
    """Draft the minutes from the compte-rendu model and file them (first version or a new one)."""
    _require_manage(actor, meeting)
    data = render_minutes(session, meeting, redacteur=actor.display_name if actor else "",
                          template_bytes=template_bytes)
    with tempfile.TemporaryDirectory(prefix="minutes-") as tmp:
        path = Path(tmp) / "compte-rendu.docx"
        path.write_bytes(data)
        filename = f"compte-rendu-{local(meeting.starts_at):%Y-%m-%d}.docx"
        return _file_minutes(session, storage, meeting, actor=actor, path=path, filename=filename,
                             origin={"source": "generation", "model": MINUTES_MODEL, "meeting": meeting.id},
                             comment="Projet rédigé depuis le modèle de compte rendu", ip=ip)


def upload_minutes(session: Session, storage: Storage, meeting: Meeting, *, actor: User | None, path: Path,
                   filename: str, comment: str = "", ip: str = "") -> Document:
    """File an uploaded compte rendu (Word or PDF) as the meeting's minutes."""
    _require_manage(actor, meeting)
    return _file_minutes(session, storage, meeting, actor=actor, path=path, filename=filename,
                         origin={"source": "upload", "meeting": meeting.id},
                         comment=comment or "Compte rendu déposé", ip=ip)


def _live_minutes(meeting: Meeting) -> Document:
    doc = meeting.minutes_document
    if doc is None or doc.in_trash or doc.current is None:
        raise CommitteeError("Cette réunion n'a pas encore de compte rendu : rédigez-le ou déposez-le d'abord.")
    return doc


def submit_minutes(session: Session, meeting: Meeting, *, actor: User | None, notifier: Notifier | None = None,
                   ip: str = "") -> Meeting:
    """Submit the draft minutes to the members for comments."""
    _require_manage(actor, meeting)
    doc = _live_minutes(meeting)
    if meeting.minutes_status != MinutesStatus.BROUILLON.value:
        raise CommitteeError(f"Le compte rendu est « {meeting.minutes_status_label} » : seul un brouillon "
                             "peut être soumis aux membres.")
    assert doc.current is not None
    _set_minutes_status(session, meeting, MinutesStatus.SOUMIS.value)
    meeting.minutes_submitted_version = doc.current.number
    meeting.minutes_submitted_at = utcnow()
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "minutes.submit", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"version": doc.current.number})
    session.flush()
    _notify(session, meeting, notifier, "submitted", actor=actor)
    return meeting


def reopen_minutes(session: Session, meeting: Meeting, *, actor: User | None, ip: str = "") -> Meeting:
    """Take submitted minutes back to draft (to change them); comments are kept."""
    _require_manage(actor, meeting)
    if meeting.minutes_status != MinutesStatus.SOUMIS.value:
        raise CommitteeError("Seul un compte rendu soumis aux membres peut repasser en brouillon.")
    _set_minutes_status(session, meeting, MinutesStatus.BROUILLON.value)
    meeting.updated_at = utcnow()
    audit.record(session, "minutes.reopen", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip)
    session.flush()
    return meeting


def comment_minutes(session: Session, meeting: Meeting, *, actor: User | None, body: str,
                    ip: str = "") -> MinutesComment:
    """A member's remark on submitted minutes (kept for good)."""
    if not can_read(actor, meeting):
        raise NotFound("Réunion introuvable.")
    if not can_comment(actor, meeting):
        raise PermissionDenied("Seuls les membres du comité et l'équipe qui l'anime peuvent commenter.")
    if meeting.minutes_status != MinutesStatus.SOUMIS.value:
        raise CommitteeError("Les remarques se font pendant que le compte rendu est soumis aux membres.")
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError("Le commentaire est vide.", errors={"body": "Écrivez votre remarque."})
    if len(text) > MAX_COMMENT:
        raise ValidationError(f"Le commentaire dépasse {MAX_COMMENT} caractères.",
                              errors={"body": f"{MAX_COMMENT} caractères au plus."})
    assert actor is not None
    comment = MinutesComment(meeting=meeting, version=meeting.minutes_submitted_version, author_id=actor.id,
                             author_name=actor.display_name, body=text)
    session.add(comment)
    session.flush()
    audit.record(session, "minutes.comment", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"comment": comment.id})
    session.flush()
    return comment


def approve_minutes(session: Session, meeting: Meeting, *, actor: User | None, notifier: Notifier | None = None,
                    ip: str = "") -> Meeting:
    """Approve the submitted version; it is recorded and never changed (later changes are new versions)."""
    _require_manage(actor, meeting)
    doc = _live_minutes(meeting)
    if meeting.minutes_status != MinutesStatus.SOUMIS.value:
        raise CommitteeError("Le compte rendu doit d'abord être soumis aux membres avant d'être approuvé.")
    # Members read and commented the submitted version: that is the one approved, even if
    # someone filed a newer file through the archive in the meantime.
    version = meeting.minutes_submitted_version or (doc.current.number if doc.current else None)
    _set_minutes_status(session, meeting, MinutesStatus.APPROUVE.value)
    # Minutes an administrator unlocked to correct are sealed again by this new approval.
    locking.relock(session, doc, actor=actor, why="compte rendu approuvé", ip=ip)
    meeting.minutes_approved_version = version
    meeting.minutes_approved_at = utcnow()
    meeting.minutes_approved_by_id = actor.id if actor else None
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "minutes.approve", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"document": doc.id, "version": version})
    session.flush()
    _notify(session, meeting, notifier, "approved", actor=actor)
    return meeting


def approved_minutes(session: Session, user: User | None, *, limit: int = 50) -> list[Meeting]:
    """Meetings with approved minutes that ``user`` may see, most recently approved first."""
    stmt = visible_meetings(user).where(Meeting.minutes_approved_at.is_not(None)) \
        .order_by(Meeting.minutes_approved_at.desc()).limit(limit)
    return list(session.scalars(stmt))


# --------------------------------------------------------------------------- decisions and actions


@dataclass
class DecisionInput:
    """A decision, or a project validation with its project, porteur, place and actions."""

    text: str = ""
    kind: str = DecisionKind.DECISION.value
    project_name: str = ""
    porteur: str = ""
    commune: str = ""
    quartier_code: str = ""
    actions_concerned: str = ""


def _clean_decision(session: Session, meeting: Meeting, data: DecisionInput, *, failure: str) -> dict[str, Any]:
    """The decision's stored values, or ValidationError saying which field to fix."""
    errors: dict[str, str] = {}
    try:
        kind = DecisionKind(data.kind)
    except ValueError:
        raise ValidationError("Type de décision inconnu.", errors={"kind": "Choisissez un type."}) from None
    text = (data.text or "").strip()[:MAX_TEXT]
    project = " ".join((data.project_name or "").split())[:300]
    porteur = " ".join((data.porteur or "").split())[:300]
    commune = " ".join((data.commune or "").split())[:200]
    quartier = None
    code = (data.quartier_code or "").strip()
    if kind is DecisionKind.VALIDATION_PROJET:
        if meeting.region_code is None:
            errors["kind"] = "Les projets locaux sont validés par un comité régional ou local, pas national."
        if not project:
            errors["project_name"] = "Indiquez le nom du projet validé."
        if not porteur:
            errors["porteur"] = "Indiquez le porteur de projet."
        if code:
            quartier = session.get(Quartier, code)
            if quartier is None:
                errors["quartier_code"] = f"Aucun quartier n'a le code {code}."
            elif quartier.region_code != meeting.region_code:
                errors["quartier_code"] = "Ce quartier n'est pas dans la région du comité."
    elif not text:
        errors["text"] = "Écrivez la décision."
    if errors:
        raise ValidationError(failure, errors=errors)
    if quartier is not None and not commune:
        commune = quartier.communes[:200]
    project_kind = kind is DecisionKind.VALIDATION_PROJET
    return {"kind": kind.value, "text": text,
            "project_name": project if project_kind else "", "porteur": porteur if project_kind else "",
            "commune": commune if project_kind else "",
            "quartier_code": quartier.code if quartier is not None else None,
            "actions_concerned": (data.actions_concerned or "").strip()[:MAX_TEXT] if project_kind else ""}


def add_decision(session: Session, meeting: Meeting, *, actor: User | None, data: DecisionInput,
                 ip: str = "") -> Decision:
    """Record a decision of the meeting."""
    _require_manage(actor, meeting)
    values = _clean_decision(session, meeting, data, failure="La décision n'a pas été enregistrée.")
    position = max((d.position for d in meeting.decisions), default=-1) + 1
    decision = Decision(meeting=meeting, position=position, created_by_id=actor.id if actor else None, **values)
    session.add(decision)
    session.flush()
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "meeting.decision", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"decision": decision.id, "kind": values["kind"]})
    session.flush()
    return decision


def _decision_to_change(actor: User | None, meeting: Meeting, decision_id: int, *, verb: str) -> Decision:
    """A decision of the meeting the actor may correct or remove: not once the minutes are approved."""
    _require_manage(actor, meeting)
    decision = next((d for d in meeting.decisions if d.id == decision_id), None)
    if decision is None:
        raise NotFound("Décision introuvable.")
    if meeting.minutes_status == MinutesStatus.APPROUVE.value:
        raise CommitteeError(f"Le compte rendu est approuvé : les décisions de la réunion ne se {verb} plus.")
    return decision


def update_decision(session: Session, meeting: Meeting, *, actor: User | None, decision_id: int,
                    data: DecisionInput, ip: str = "") -> Decision:
    """Correct a decision in place (its position and linked actions are kept)."""
    decision = _decision_to_change(actor, meeting, decision_id, verb="modifient")
    values = _clean_decision(session, meeting, data, failure="La décision n'a pas été modifiée.")
    before = {key: getattr(decision, key) for key in values}
    changed = sorted(key for key in values if values[key] != before[key])
    if not changed:
        return decision
    for key in changed:
        setattr(decision, key, values[key])
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    # The previous wording is kept in the log: the table only holds the corrected one.
    audit.record(session, "meeting.decision_update", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip,
                 details={"decision": decision.id, "changed": changed,
                          **{f"before_{key}": before[key] for key in changed}})
    session.flush()
    return decision


def delete_decision(session: Session, meeting: Meeting, *, actor: User | None, decision_id: int,
                    ip: str = "") -> None:
    """Remove a decision entered by mistake (its actions stay, unlinked)."""
    decision = _decision_to_change(actor, meeting, decision_id, verb="suppriment")
    for action in meeting.actions:
        if action.decision_id == decision_id:
            action.decision_id = None
    audit.record(session, "meeting.decision_delete", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"decision": decision_id, "text": decision.text})
    meeting.decisions.remove(decision)
    archive.enqueue(session, meeting.id, object_type="meeting")
    session.flush()


def add_action(session: Session, meeting: Meeting, *, actor: User | None, title: str, owner: str = "",
               due_date: dt.date | None = None, decision_id: int | None = None, ip: str = "") -> ActionItem:
    """Record an action: what, who, by when (optionally tied to one of the meeting's decisions)."""
    _require_manage(actor, meeting)
    errors: dict[str, str] = {}
    title = (title or "").strip()[:MAX_TEXT]
    if not title:
        errors["title"] = "Décrivez l'action."
    if decision_id is not None and not any(d.id == decision_id for d in meeting.decisions):
        errors["decision_id"] = "Cette décision n'appartient pas à la réunion."
    if due_date is not None and not 1990 <= due_date.year <= 2200:
        errors["due_date"] = "L'échéance doit être comprise entre 1990 et 2200."
    if errors:
        raise ValidationError("L'action n'a pas été enregistrée.", errors=errors)
    action = ActionItem(meeting=meeting, title=title, owner=" ".join((owner or "").split())[:200],
                        due_date=due_date, decision_id=decision_id)
    session.add(action)
    session.flush()
    audit.record(session, "meeting.action", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip, details={"action": action.id})
    session.flush()
    return action


def set_action_status(session: Session, action: ActionItem, *, actor: User | None, status: str,
                      ip: str = "") -> ActionItem:
    """Move an action to à faire / en cours / faite / abandonnée."""
    _require_manage(actor, action.meeting)
    try:
        ActionStatus(status)
    except ValueError:
        raise ValidationError("Statut d'action inconnu.", errors={"status": "Choisissez un statut."}) from None
    before = action.status
    action.status = status
    action.updated_at = utcnow()
    audit.record(session, "meeting.action_status", actor=actor, object_type="meeting", object_id=action.meeting_id,
                 region_code=action.meeting.region_code, ip=ip,
                 details={"action": action.id, "from": before, "to": status})
    session.flush()
    return action


def delete_action(session: Session, action: ActionItem, *, actor: User | None, ip: str = "") -> None:
    """Remove an action entered by mistake (the audit log keeps what it said)."""
    meeting = action.meeting
    _require_manage(actor, meeting)
    if meeting.minutes_status == MinutesStatus.APPROUVE.value:
        raise CommitteeError("Le compte rendu est approuvé : ses actions ne se suppriment plus. "
                             "Passez l'action en « Abandonnée » si elle ne se fera pas.")
    audit.record(session, "meeting.action_delete", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip,
                 details={"action": action.id, "title": action.title[:500], "owner": action.owner,
                          "status": action.status})
    meeting.actions.remove(action)
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    session.flush()


def get_action(session: Session, user: User | None, action_id: int) -> ActionItem:
    """An action whose meeting ``user`` may see; NotFound otherwise."""
    action = session.get(ActionItem, action_id)
    if action is None or not can_read(user, action.meeting):
        raise NotFound("Action introuvable.")
    return action


@dataclass
class ListFilters:
    """Filters of the cross-meeting lists of decisions and actions."""

    committee_id: int | None = None
    region_code: str | None = None
    year: int | None = None
    kind: str | None = None
    status: str | None = None
    overdue_on: dt.date | None = None


def _filter_meetings(stmt: Select[Any], filters: ListFilters) -> Select[Any]:
    if filters.committee_id is not None:
        stmt = stmt.where(Meeting.committee_id == filters.committee_id)
    if filters.region_code:
        if filters.region_code == permissions.NATIONAL:
            stmt = stmt.where(Meeting.region_code.is_(None))
        else:
            stmt = stmt.where(Meeting.region_code.in_(sorted(covered_codes(filters.region_code))))
    if filters.year is not None:
        start, end = _year_bounds(filters.year)
        stmt = stmt.where(Meeting.starts_at >= start, Meeting.starts_at < end)
    return stmt


def decisions_query(user: User | None, filters: ListFilters | None = None) -> Select[tuple[Decision]]:
    """Decisions across the meetings ``user`` may see, newest meeting first."""
    filters = filters or ListFilters()
    stmt = _scoped(select(Decision).join(Meeting, Decision.meeting_id == Meeting.id), Meeting.region_code, user)
    stmt = _filter_meetings(stmt, filters)
    if filters.kind:
        stmt = stmt.where(Decision.kind == filters.kind)
    return stmt.order_by(Meeting.starts_at.desc(), Decision.position)


def actions_query(user: User | None, filters: ListFilters | None = None) -> Select[tuple[ActionItem]]:
    """Actions across the meetings ``user`` may see, by due date."""
    filters = filters or ListFilters()
    stmt = _scoped(select(ActionItem).join(Meeting, ActionItem.meeting_id == Meeting.id), Meeting.region_code, user)
    stmt = _filter_meetings(stmt, filters)
    if filters.status:
        stmt = stmt.where(ActionItem.status == filters.status)
    if filters.overdue_on is not None:
        stmt = stmt.where(ActionItem.due_date < filters.overdue_on,
                          ActionItem.status.in_([ActionStatus.A_FAIRE.value, ActionStatus.EN_COURS.value]))
    return stmt.order_by(ActionItem.due_date.is_(None), ActionItem.due_date, ActionItem.id)


def _csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return text


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    # The BOM makes Excel read the file as UTF-8 (accents) with ";" as the French separator.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def decisions_csv(decisions: Iterable[Decision]) -> bytes:
    """Decisions as a CSV for a spreadsheet (UTF-8 with BOM, ";" separated)."""
    header = ["Date", "Comité", "Région", "Réunion", "Type", "Décision", "Projet", "Porteur", "Commune",
              "Quartier", "Actions concernées"]
    return _csv(header, ([
        local(d.meeting.starts_at).strftime("%d/%m/%Y"), d.meeting.committee.name, d.meeting.region_label,
        d.meeting.title, d.kind_label, decision_sentence(d) if d.kind == DecisionKind.VALIDATION_PROJET.value
        else d.text, d.project_name, d.porteur, d.commune,
        f"{d.quartier.code} {d.quartier.names}" if d.quartier else "", d.actions_concerned,
    ] for d in decisions))


def actions_csv(actions: Iterable[ActionItem]) -> bytes:
    """Actions as a CSV for a spreadsheet (UTF-8 with BOM, ";" separated)."""
    header = ["Échéance", "Action", "Responsable", "Statut", "Comité", "Région", "Réunion du"]
    return _csv(header, ([
        a.due_date.strftime("%d/%m/%Y") if a.due_date else "", a.title, a.owner, a.status_label,
        a.meeting.committee.name, a.meeting.region_label, local(a.meeting.starts_at).strftime("%d/%m/%Y"),
    ] for a in actions))


# --------------------------------------------------------------------------- compliance


@dataclass
class ComplianceReport:
    """What the protocol asks and is not done yet, within what a user may see."""

    year: int
    today: dt.date
    draft_days: int
    #: (committee, next planned meeting this year or None) for committees that have not met this year.
    not_met: list[tuple[Committee, Meeting | None]]
    minutes_late: list[Meeting]
    actions_overdue: list[ActionItem]

    @property
    def total(self) -> int:
        """Number of problems listed."""
        return len(self.not_met) + len(self.minutes_late) + len(self.actions_overdue)


def compliance(session: Session, user: User | None, *, today: dt.date | None = None,
               draft_days: int = DEFAULT_DRAFT_DAYS) -> ComplianceReport:
    """Committees that have not met this year, minutes still in draft N days on, actions past due."""
    today = today or dt.datetime.now(PARIS).date()
    year_start, year_end = _year_bounds(today.year)
    tomorrow = paris_datetime(today + dt.timedelta(days=1), dt.time())
    not_cancelled = Meeting.status != MeetingStatus.ANNULEE.value
    met = select(Meeting.committee_id).where(not_cancelled, Meeting.starts_at >= year_start,
                                             Meeting.starts_at < tomorrow)
    committees = session.scalars(visible_committees(user).where(Committee.id.not_in(met))).all()
    planned: dict[int, Meeting] = {}
    if committees:
        for meeting in session.scalars(select(Meeting).where(
                not_cancelled, Meeting.committee_id.in_([c.id for c in committees]),
                Meeting.starts_at >= tomorrow, Meeting.starts_at < year_end).order_by(Meeting.starts_at)):
            planned.setdefault(meeting.committee_id, meeting)
    limit = paris_datetime(today - dt.timedelta(days=draft_days), dt.time())
    late = session.scalars(visible_meetings(user).where(
        not_cancelled, Meeting.starts_at < limit,
        Meeting.minutes_status.in_([MinutesStatus.AUCUN.value, MinutesStatus.BROUILLON.value]),
    ).order_by(Meeting.starts_at)).all()
    overdue = session.scalars(actions_query(user, ListFilters(overdue_on=today))).all()
    return ComplianceReport(year=today.year, today=today, draft_days=draft_days,
                            not_met=[(c, planned.get(c.id)) for c in committees],
                            minutes_late=list(late), actions_overdue=list(overdue))


# --------------------------------------------------------------------------- personal feeds


#: How precisely ``CalendarToken.last_used_at`` follows the feed's use.
FEED_USE_RESOLUTION = dt.timedelta(hours=1)


def create_feed_token(session: Session, user: User, *, ip: str = "") -> str:
    """A new personal feed token (the previous one stops working); the plaintext is returned once."""
    revoke_feed_tokens(session, user, ip=ip)
    plaintext = "cal_" + secrets.token_urlsafe(32)
    token = CalendarToken(user_id=user.id, token_hash=token_hash(plaintext), prefix=plaintext[:10])
    session.add(token)
    session.flush()
    audit.record(session, "calendar.feed_create", actor=user, object_type="calendar", object_id=token.id, ip=ip)
    session.flush()
    return plaintext


def revoke_feed_tokens(session: Session, user: User, *, ip: str = "") -> int:
    """Revoke the user's feed tokens; return how many were live."""
    live = session.scalars(select(CalendarToken).where(CalendarToken.user_id == user.id,
                                                       CalendarToken.revoked_at.is_(None))).all()
    for token in live:
        token.revoked_at = utcnow()
        audit.record(session, "calendar.feed_revoke", actor=user, object_type="calendar", object_id=token.id, ip=ip)
    session.flush()
    return len(live)


def feed_token_info(session: Session, user: User) -> CalendarToken | None:
    """The user's live feed token (prefix and dates only), if any."""
    return session.scalar(select(CalendarToken).where(CalendarToken.user_id == user.id,
                                                      CalendarToken.revoked_at.is_(None)))


def user_for_feed_token(session: Session, plaintext: str) -> User | None:
    """The active user owning a live feed token, or None (and nothing tells which part was wrong)."""
    if not plaintext or not plaintext.startswith("cal_") or len(plaintext) > 100:
        return None
    token = session.scalar(select(CalendarToken).where(CalendarToken.token_hash == token_hash(plaintext)))
    if token is None or token.revoked_at is not None or token.user is None or not token.user.active:
        return None
    now = utcnow()
    last = token.last_used_at
    # Calendar apps poll every few minutes: note the use at most once an hour, not a write per GET.
    if last is None or now - (last if last.tzinfo else last.replace(tzinfo=dt.timezone.utc)) >= FEED_USE_RESOLUTION:
        token.last_used_at = now
        session.flush()
    return token.user


def my_meetings(session: Session, user: User, *, since: dt.datetime | None = None) -> list[Meeting]:
    """A user's meetings for the calendar feed: committees they sit on, and those of their own region."""
    since = since or (utcnow() - dt.timedelta(days=366))
    member_of = select(CommitteeMember.committee_id).where(CommitteeMember.user_id == user.id)
    own = (Meeting.region_code.in_(sorted(covered_codes(user.region_code))) if user.region_code
           else Meeting.region_code.is_(None))
    stmt = visible_meetings(user).where(Meeting.starts_at >= since,
                                        or_(Meeting.committee_id.in_(member_of), own))
    return list(session.scalars(stmt.order_by(Meeting.starts_at).limit(1000)))


# --------------------------------------------------------------------------- search


def index_entry_for_meeting(session: Session, meeting_id: int) -> Any:
    """The search entry of a meeting (``documents.search.IndexEntry``), or None if it is gone."""
    from documents.search import IndexEntry, entry_id

    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return None
    parts = [meeting.title, meeting.committee.name, meeting.place, meeting.notes]
    for item in meeting.agenda:
        parts += [item.title, item.notes]
    parts += [decision_sentence(d) for d in meeting.decisions]
    parts += [a.title for a in meeting.actions]
    start = local(meeting.starts_at)
    return IndexEntry(
        id=entry_id("meeting", meeting.id), kind="meeting",
        title=f"{meeting.title} – {meeting.committee.name} – {start:%d/%m/%Y}",
        text="\n".join(p for p in parts if p), type=meeting.committee.level,
        region=meeting.region_code or permissions.NATIONAL, year=start.year,
        status=meeting.minutes_status, quartiers=[d.quartier_code for d in meeting.decisions if d.quartier_code],
        keywords=[d.project_name for d in meeting.decisions if d.project_name],
        date=aware(meeting.starts_at), updated=aware(meeting.updated_at or meeting.created_at),
    )


# --------------------------------------------------------------------------- dashboard


def dashboard_counts(session: Session, user: User | None, *, today: dt.date | None = None) -> dict[str, Any]:
    """Figures for the home panel: upcoming meetings and the compliance problems."""
    today = today or dt.datetime.now(PARIS).date()
    report = compliance(session, user, today=today)
    upcoming = session.scalars(visible_meetings(user).where(
        Meeting.starts_at >= paris_datetime(today, dt.time()), Meeting.status != MeetingStatus.ANNULEE.value,
    ).order_by(Meeting.starts_at).limit(5)).all()
    to_review = session.scalar(select(func.count()).select_from(visible_meetings(user).where(
        Meeting.minutes_status == MinutesStatus.SOUMIS.value).subquery())) or 0
    return {"upcoming": list(upcoming), "not_met": len(report.not_met), "minutes_late": len(report.minutes_late),
            "actions_overdue": len(report.actions_overdue), "to_review": to_review, "year": report.year}


__all__ = [
    "CommitteeError", "ComplianceReport", "DecisionInput", "ListFilters", "MeetingInput", "Notifier",
    "actions_csv", "actions_query", "add_action", "add_decision", "add_member", "approve_minutes",
    "approved_minutes", "attach_document", "cancel_meeting", "comment_minutes", "compliance", "create_committee",
    "create_feed_token", "dashboard_counts", "decisions_csv", "decisions_query", "delete_action", "delete_decision",
    "detach_document", "draft_minutes", "duplicate_meeting", "ensure_committees", "get_action", "get_committee",
    "get_meeting", "index_entry_for_meeting", "invite_guest", "invite_member", "minutes_values", "my_meetings",
    "record_attendance", "remove_guest", "remove_member", "reopen_minutes", "revoke_feed_tokens",
    "schedule_meeting", "set_action_status", "set_agenda_notes", "set_member_role", "submit_minutes",
    "update_committee", "update_decision", "update_meeting", "upload_attachment", "upload_minutes",
    "user_for_feed_token", "visible_committees", "visible_meetings",
]
