"""Recording a meeting's decisions and actions, correcting and removing them."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from documents.committees import actions, decisions, errors
from documents.errors import ValidationError
from documents.models import ActionItem, DecisionKind, Meeting, Quartier
from intranet.committees.blueprint import bp
from intranet.committees.forms import ActionForm, ActionStatusForm, DecisionForm
from intranet.committees.helpers import (
    attempt,
    flash_error,
    form_errors,
    load_meeting,
    to_meeting_page,
)
from intranet.extensions import db
from intranet.forms import choices, show_errors
from intranet.web import client_ip, current_actor, deny, writer_required


def decision_form(m: Meeting) -> DecisionForm:
    form = DecisionForm(prefix="decision")
    quartiers = db.session.scalars(select(Quartier).where(Quartier.region_code == m.region_code)
                                   .order_by(Quartier.departement, Quartier.code)).all() if m.region_code else []
    form.quartier_code.choices = choices(
        [("", "— Aucun —")] + [(q.code, f"{q.code} – {q.communes} – {q.names}") for q in quartiers])
    if m.region_code is None:
        form.kind.choices = choices([(DecisionKind.DECISION.value, DecisionKind.DECISION.label)])
    return form


def _decision_input(form: DecisionForm) -> decisions.DecisionInput:
    return decisions.DecisionInput(
        kind=form.kind.data or "", text=form.text.data or "", project_name=form.project_name.data or "",
        porteur=form.porteur.data or "", commune=form.commune.data or "",
        quartier_code=form.quartier_code.data or "", actions_concerned=form.actions_concerned.data or "")


@bp.route("/reunions/<id:meeting_id>/decisions", methods=["POST"])
@writer_required
def add_decision(meeting_id: int) -> Any:
    """Record a decision or a project validation."""
    m = load_meeting(meeting_id, write=True)
    form = DecisionForm(prefix="decision")
    form.validate_on_submit()
    if not form.csrf_token.errors:
        attempt(lambda: decisions.add_decision(db.session, m, actor=current_actor(), ip=client_ip(),
                                        data=_decision_input(form)),
                "Décision enregistrée.", ValidationError)
    return to_meeting_page(m, "decisions")


@bp.route("/reunions/<id:meeting_id>/decisions/<id:decision_id>/supprimer", methods=["POST"])
@writer_required
def delete_decision(meeting_id: int, decision_id: int) -> Any:
    """Remove a decision entered by mistake."""
    m = load_meeting(meeting_id, write=True)
    attempt(lambda: decisions.delete_decision(db.session, m, actor=current_actor(), decision_id=decision_id, ip=client_ip()),
            "Décision supprimée.", errors.CommitteeError)
    return to_meeting_page(m, "decisions")




@bp.route("/reunions/<id:meeting_id>/decisions/<id:decision_id>/modifier", methods=["GET", "POST"])
@writer_required
def edit_decision(meeting_id: int, decision_id: int) -> Any:
    """Correct a decision in place (instead of deleting and entering it again)."""
    m = load_meeting(meeting_id, write=True)
    decision = next((d for d in m.decisions if d.id == decision_id), None)
    if decision is None:
        deny("decision", decision_id, region_code=m.region_code)
    assert decision is not None
    form = decision_form(m)
    form.submit.label.text = "Enregistrer la correction"
    if request.method == "GET":
        for name in ("kind", "text", "project_name", "porteur", "commune", "actions_concerned"):
            getattr(form, name).data = getattr(decision, name)
        form.quartier_code.data = decision.quartier_code or ""
    status = 200
    if form.validate_on_submit():
        try:
            decisions.update_decision(db.session, m, actor=current_actor(), decision_id=decision.id,
                              data=_decision_input(form), ip=client_ip())
        except ValidationError as exc:
            db.session.rollback()
            show_errors(form, exc, "text")
            status = 422
        except errors.CommitteeError as exc:
            db.session.rollback()
            flash_error(exc)
            return to_meeting_page(m, "decisions")
        else:
            flash("Décision corrigée.", "success")
            return to_meeting_page(m, "decisions")
    elif request.method == "POST":
        status = 422
    return render_template("committees/decision_form.html", form=form, meeting=m, decision=decision,
                           position=m.decisions.index(decision) + 1), status


@bp.route("/reunions/<id:meeting_id>/actions", methods=["POST"])
@writer_required
def add_action(meeting_id: int) -> Any:
    """Record an action."""
    m = load_meeting(meeting_id, write=True)
    form = ActionForm(prefix="action")
    if form.validate_on_submit():
        attempt(lambda: actions.add_action(
                     db.session, m, actor=current_actor(), title=form.title.data or "", owner=form.owner.data or "",
                     due_date=form.due_date.data,
                     decision_id=int(form.decision_id.data) if (form.decision_id.data or "").isdigit() else None,
                     ip=client_ip()),
                "Action enregistrée.", ValidationError)
    else:
        flash("L'action n'a pas été enregistrée : " + form_errors(form), "error")
    return to_meeting_page(m, "actions")


@bp.route("/actions/<id:action_id>/statut", methods=["POST"])
@writer_required
def action_status(action_id: int) -> Any:
    """Change an action's status."""
    action = db.session.get(ActionItem, action_id)
    if action is None:
        deny("action", action_id)
    assert action is not None
    m = load_meeting(action.meeting_id, write=True)
    # One small form per table row: the app-wide CSRFProtect has checked the token already.
    form = ActionStatusForm(meta={"csrf": False})
    if form.validate_on_submit():
        actions.set_action_status(db.session, action, actor=current_actor(), status=form.status.data, ip=client_ip())
        flash("Statut de l'action mis à jour.", "success")
    else:
        flash("Statut inconnu.", "error")
    target = request.form.get("next", "")
    if target == "actions":
        return redirect(url_for("committees.actions"))
    return to_meeting_page(m, "actions")


@bp.route("/actions/<id:action_id>/supprimer", methods=["POST"])
@writer_required
def delete_action(action_id: int) -> Any:
    """Remove an action entered by mistake."""
    action = db.session.get(ActionItem, action_id)
    if action is None:
        deny("action", action_id)
    assert action is not None
    m = load_meeting(action.meeting_id, write=True)
    attempt(lambda: actions.delete_action(db.session, action, actor=current_actor(), ip=client_ip()),
            "Action supprimée.", errors.CommitteeError)
    return to_meeting_page(m, "actions")
