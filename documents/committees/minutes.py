"""The compte rendu of a meeting: drafted from the model or uploaded, submitted, commented, approved.

Brouillon → soumis (members comment) → approuvé (the approved version is locked in the
archive, ``documents.locking``); a new file after approval is a new draft version.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from babel.dates import format_date as babel_date
from sqlalchemy import select
from sqlalchemy.orm import Session

from documents import archive, audit, locking
from documents.committees.dates import local
from documents.committees.decisions import decision_sentence
from documents.committees.errors import CommitteeError
from documents.committees.limits import MAX_COMMENT
from documents.committees.notifications import Notifier, notify
from documents.committees.scope import (
    can_comment,
    can_read,
    require_manage,
    visible_meetings,
)
from documents.db import utcnow
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.models import (
    Attendance,
    AttendanceStatus,
    DecisionKind,
    DocStatus,
    DocType,
    Document,
    Meeting,
    MeetingStatus,
    MemberRole,
    MinutesComment,
    MinutesStatus,
    User,
)
from documents.storage import Storage

MINUTES_MODEL = "compte-rendu-comite"


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
    doc: Document | None = meeting.minutes_document
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
    require_manage(actor, meeting)
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
    require_manage(actor, meeting)
    return _file_minutes(session, storage, meeting, actor=actor, path=path, filename=filename,
                         origin={"source": "upload", "meeting": meeting.id},
                         comment=comment or "Compte rendu déposé", ip=ip)


def _live_minutes(meeting: Meeting) -> Document:
    doc: Document | None = meeting.minutes_document
    if doc is None or doc.in_trash or doc.current is None:
        raise CommitteeError("Cette réunion n'a pas encore de compte rendu : rédigez-le ou déposez-le d'abord.")
    return doc


def submit_minutes(session: Session, meeting: Meeting, *, actor: User | None, notifier: Notifier | None = None,
                   ip: str = "") -> Meeting:
    """Submit the draft minutes to the members for comments."""
    require_manage(actor, meeting)
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
    notify(session, meeting, notifier, "submitted", actor=actor)
    return meeting


def reopen_minutes(session: Session, meeting: Meeting, *, actor: User | None, ip: str = "") -> Meeting:
    """Take submitted minutes back to draft (to change them); comments are kept."""
    require_manage(actor, meeting)
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
    require_manage(actor, meeting)
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
    notify(session, meeting, notifier, "approved", actor=actor)
    return meeting


def approved_minutes(session: Session, user: User | None, *, limit: int = 50) -> list[Meeting]:
    """Meetings with approved minutes that ``user`` may see, most recently approved first."""
    stmt = visible_meetings(user).where(Meeting.minutes_approved_at.is_not(None)) \
        .order_by(Meeting.minutes_approved_at.desc()).limit(limit)
    return list(session.scalars(stmt))
