"""Mail to a meeting's members: convocation, change, cancellation, minutes to review, approval.

A notification is a row of the mail outbox written in the caller's transaction
(``documents.mailqueue``): a rolled-back change never sends one, and a mail failure never
undoes the work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from documents import audit, mailqueue
from documents.calendar import meeting_ics
from documents.committees.dates import local, when_fr
from documents.mail import Attachment, Message, valid_address
from documents.models import Meeting, User


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


def notify(session: Session, meeting: Meeting, notifier: Notifier | None, kind: str, *,
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
