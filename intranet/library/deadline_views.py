"""Échéances: the page (dépassées, 30 and 90 days) and the form that records how a term was handled."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import login_required
from wtforms import HiddenField, IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from documents import archive, deadline_lists, deadline_store, listing, permissions
from documents.bounds import MAX_ID
from documents.errors import NotFound, ValidationError
from documents.models import DeadlineOutcome, Document
from intranet.extensions import db
from intranet.forms import FrenchForm, choices
from intranet.library import bp
from intranet.web import client_ip, current_actor, deny, writer_required

#: Rows shown per section of the échéances page; the API and the CLI give the full lists.
PAGE_ROWS = 100


class HandleForm(FrenchForm):
    """Record what was decided about one term of an agreement."""

    term = HiddenField(validators=[DataRequired("Échéance manquante.")])
    outcome = SelectField("Suite donnée", choices=choices((o.value, o.label) for o in DeadlineOutcome))
    replacement_id = IntegerField("Remplacée par le document n°", validators=[
        Optional(), NumberRange(1, MAX_ID, "Numéro de document invalide.")])
    note = TextAreaField("Commentaire", validators=[Optional(), Length(max=2000, message="2000 caractères au plus.")])
    submit = SubmitField("Enregistrer")


def page_context(doc: Document) -> dict[str, Any]:
    """What the document page shows about its dates: running term, unhandled passed dates, the form."""
    from intranet.library.views import today_paris

    today = today_paris()
    rows = deadline_lists.document_deadlines(db.session, doc, today=today)
    overdue = listing.overdue_deadlines(db.session, current_actor(), today=today, document_id=doc.id)
    # The form handles the earliest term with something to decide: an overdue one first.
    open_terms = sorted({r.deadline.renewal for r in overdue} | {r.deadline.renewal for r in rows
                                                                 if r.handling is None})
    form = None
    if open_terms and permissions.can_write_region(current_actor(), doc.region_code) and not doc.in_trash:
        form = HandleForm(formdata=None, term=str(open_terms[0]))
    return {"deadline_rows": rows, "overdue": overdue, "handle_form": form}


@bp.route("/<id:document_id>/echeances", methods=["POST"])
@writer_required
def handle_deadline(document_id: int) -> Any:
    """Mark a term « reconduite », « dénoncée » or « remplacée par … » (audited)."""
    user = current_actor()
    try:
        doc = archive.get_document(db.session, user, document_id)
    except NotFound:
        deny("document", document_id)
        raise
    form = HandleForm()
    if not form.validate_on_submit():
        raise ValidationError(" ".join(e for errs in form.errors.values() for e in errs) or "Formulaire invalide.")
    try:
        term = int(form.term.data)
    except (TypeError, ValueError):
        raise ValidationError("Échéance invalide.") from None
    replacement = None
    if form.replacement_id.data:
        try:
            replacement = archive.get_document(db.session, user, form.replacement_id.data)
        except NotFound:
            raise ValidationError("Le document de remplacement est introuvable.") from None
    deadline_store.handle_term(db.session, doc, actor=user, term=term, outcome=form.outcome.data or "",
                               replacement=replacement, note=form.note.data or "", ip=client_ip())
    db.session.commit()
    flash("Suite enregistrée : l'échéance est traitée.", "success")
    return redirect(url_for("library.show", document_id=doc.id) + "#echeances")


@bp.route("/echeances")
@login_required
def deadlines() -> Any:
    """Dates passed with nothing recorded, then those of the next 30 and 90 days."""
    from intranet.library.views import HORIZON_LONG, HORIZON_SHORT, today_paris

    today = today_paris()
    user = current_actor()
    # At most PAGE_ROWS per section, fetched with one more to say that the list goes on.
    overdue = listing.overdue_deadlines(db.session, user, today=today, limit=PAGE_ROWS + 1)
    soon = listing.upcoming_deadlines(db.session, user, today=today, days=HORIZON_SHORT, limit=PAGE_ROWS + 1)
    later = listing.upcoming_deadlines(db.session, user, today=today, days=HORIZON_LONG, from_days=HORIZON_SHORT + 1,
                                       limit=PAGE_ROWS + 1)
    return render_template(
        "library/deadlines.html", today=today, short=HORIZON_SHORT, long=HORIZON_LONG, page_rows=PAGE_ROWS,
        overdue=overdue[:PAGE_ROWS], soon=soon[:PAGE_ROWS], later=later[:PAGE_ROWS],
        more={"overdue": len(overdue) > PAGE_ROWS, "soon": len(soon) > PAGE_ROWS, "later": len(later) > PAGE_ROWS},
    )
