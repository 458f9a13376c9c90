"""Decisions of a meeting, project validations included, and how each reads as one sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from documents import archive, audit
from documents.committees.errors import CommitteeError
from documents.committees.limits import MAX_TEXT
from documents.committees.scope import require_manage
from documents.db import utcnow
from documents.errors import NotFound, ValidationError
from documents.models import (
    Decision,
    DecisionKind,
    Meeting,
    MinutesStatus,
    Quartier,
    User,
)


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
    require_manage(actor, meeting)
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
    require_manage(actor, meeting)
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
