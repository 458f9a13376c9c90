"""A meeting's entry in the search index (the indexer calls it for each changed meeting)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from documents import permissions
from documents.calendar import aware
from documents.committees.dates import local
from documents.committees.decisions import decision_sentence
from documents.models import Meeting


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
