"""Meetings: schedule, change, cancel, and prepare the next one from the last.

Each verb writes the audit log and an index-outbox row in the caller's transaction and
only flushes; members are told through ``documents.committees.notifications``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from documents import archive, audit
from documents.bounds import refuse_nul
from documents.calendar import aware
from documents.committees.attendance import invite_all
from documents.committees.errors import CommitteeError
from documents.committees.limits import MAX_AGENDA_ITEMS, MAX_TEXT
from documents.committees.notifications import Notifier, notify
from documents.committees.scope import can_read, require_manage
from documents.db import utcnow
from documents.errors import NotFound, ValidationError
from documents.models import AgendaItem, Committee, Meeting, MeetingStatus, User


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
    starts = aware(data.starts_at).astimezone(dt.UTC) if data.starts_at else None
    ends = aware(data.ends_at).astimezone(dt.UTC) if data.ends_at else None
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


def schedule_meeting(session: Session, committee: Committee, *, actor: User | None, data: MeetingInput,
                     notifier: Notifier | None = None, ip: str = "") -> Meeting:
    """Schedule a meeting, invite every member, and send them the invitation."""
    require_manage(actor, committee)
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
    invite_all(meeting, committee.members)
    session.flush()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "meeting.create", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip,
                 details={"committee": committee.id, "starts_at": clean.starts_at.isoformat()})
    session.flush()
    notify(session, meeting, notifier, "scheduled", actor=actor)
    return meeting


def update_meeting(session: Session, meeting: Meeting, *, actor: User | None, data: MeetingInput,
                   notifier: Notifier | None = None, ip: str = "") -> Meeting:
    """Change a meeting; members are told when its date, time or place changed."""
    require_manage(actor, meeting)
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
        notify(session, meeting, notifier, "changed", actor=actor)
    return meeting


def cancel_meeting(session: Session, meeting: Meeting, *, actor: User | None, notifier: Notifier | None = None,
                   ip: str = "") -> Meeting:
    """Cancel a meeting (it stays listed, marked "annulée"); members are told."""
    require_manage(actor, meeting)
    if meeting.cancelled:
        return meeting
    meeting.status = MeetingStatus.ANNULEE.value
    meeting.sequence = (meeting.sequence or 0) + 1
    meeting.updated_at = utcnow()
    archive.enqueue(session, meeting.id, object_type="meeting")
    audit.record(session, "meeting.cancel", actor=actor, object_type="meeting", object_id=meeting.id,
                 region_code=meeting.region_code, ip=ip)
    session.flush()
    notify(session, meeting, notifier, "cancelled", actor=actor)
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
    notify(session, copy, notifier, "scheduled", actor=actor)
    return copy
