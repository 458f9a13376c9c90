"""Actions decided in a meeting: what, who, by when, and how far along."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from documents import archive, audit
from documents.committees.errors import CommitteeError
from documents.committees.limits import MAX_TEXT
from documents.committees.scope import can_read, require_manage
from documents.db import utcnow
from documents.errors import NotFound, ValidationError
from documents.models import ActionItem, ActionStatus, Meeting, MinutesStatus, User


def add_action(session: Session, meeting: Meeting, *, actor: User | None, title: str, owner: str = "",
               due_date: dt.date | None = None, decision_id: int | None = None, ip: str = "") -> ActionItem:
    """Record an action: what, who, by when (optionally tied to one of the meeting's decisions)."""
    require_manage(actor, meeting)
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
    require_manage(actor, action.meeting)
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
    require_manage(actor, meeting)
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
