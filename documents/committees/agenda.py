"""Notes taken on each point of a meeting's agenda (the raw material of the minutes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from documents import archive, audit
from documents.committees.limits import MAX_TEXT
from documents.committees.scope import require_manage
from documents.db import utcnow
from documents.errors import ValidationError
from documents.models import Meeting, User


def set_agenda_notes(session: Session, meeting: Meeting, *, actor: User | None, notes: dict[int, str],
                     ip: str = "") -> Meeting:
    """Record what was said on each agenda point (used to draft the minutes)."""
    require_manage(actor, meeting)
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
