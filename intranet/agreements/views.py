"""Views of agreements' amounts: the panel of the document page and its form, a region's timeline,
the national table regions × years and its CSV export.

Thin views over ``documents.agreements``: the verbs check permissions and write the audit log.
Another region's document or region answers 404 (the denial logged); the national table is for
the accounts that see every region, a regional account is sent to its own region's page.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask_login import login_required
from wtforms import StringField, SubmitField
from wtforms.validators import Length, Optional

from documents import locking, permissions, regions
from documents.agreements import amounts as A
from documents.agreements import timeline as T
from documents.errors import NotFound, PermissionDenied, ValidationError
from documents.formatting import format_amount
from documents.models import Document
from intranet.agreements import bp
from intranet.extensions import db
from intranet.forms import FrenchForm
from intranet.web import client_ip, current_actor, deny, readable_document, writer_required


class AmountsForm(FrenchForm):
    """The four lines of an agreement; an empty line is « non renseigné » (on an avenant: unchanged)."""

    mission_coordination = StringField(A.LINES[0].label, validators=[Optional(), Length(max=40)])
    projets_coordination = StringField(A.LINES[1].label, validators=[Optional(), Length(max=40)])
    formation = StringField(A.LINES[2].label, validators=[Optional(), Length(max=40)])
    sensibilisation = StringField(A.LINES[3].label, validators=[Optional(), Length(max=40)])
    submit = SubmitField("Enregistrer les montants")


def _form_for(amounts: A.AgreementAmounts) -> AmountsForm:
    values = {key: (A.french_decimal(v) if v is not None else "") for key, v in amounts.values.items()}
    return AmountsForm(formdata=None, **values)


@bp.app_template_filter("euros")
def euros(amount: Decimal | None) -> str:
    """« 12 500,50 € » (no-break spaces), or « — » for an unknown amount."""
    return "—" if amount is None else format_amount(amount)


@bp.app_template_global()
def amounts_panel(doc: Document) -> dict[str, Any] | None:
    """What ``agreements/_amounts_panel.html`` shows on a document page (None: not an agreement)."""
    if not A.is_agreement(doc):
        return None
    user = current_actor()
    view = T.agreement_view(db.session, user, doc)
    can_edit = permissions.can_write_region(user, doc.region_code) and not doc.in_trash
    current = regions.current_code(doc.region_code)
    return {
        "view": view, "lines": A.LINES, "amounts": view.agreement.amounts,
        "form": _form_for(view.agreement.amounts) if can_edit else None,
        "locked": locking.is_locked(db.session, doc),
        "timeline_url": url_for("agreements.region", region_code=current) if current else None,
    }


@bp.route("/documents/<id:document_id>/montants", methods=["GET", "POST"])
@writer_required
def amounts(document_id: int) -> Any:
    """Enter or correct the four lines of an agreement (the document page holds the same form)."""
    doc = readable_document(document_id)
    if not A.is_agreement(doc):
        raise ValidationError("Les montants ne s'enregistrent que sur une convention, un avenant ou un contrat "
                              "d'objectifs : changez d'abord le type du document.")
    if not permissions.can_write_region(current_actor(), doc.region_code):
        deny("document", document_id, region_code=doc.region_code, status=403)
    form = AmountsForm()
    status = 200
    if form.is_submitted():
        if not form.validate():
            status = 422
        else:
            try:
                A.set_amounts(db.session, doc, actor=current_actor(), ip=client_ip(),
                              amounts={line.key: getattr(form, line.key).data or "" for line in A.LINES})
            except (ValidationError, locking.LockedDocument) as exc:
                db.session.rollback()
                for key, message in exc.errors.items():
                    if hasattr(form, key):
                        getattr(form, key).errors = [message]
                status = exc.status
                flash(exc.message, "error")
            else:
                db.session.commit()
                flash("Montants enregistrés.", "success")
                return redirect(url_for("library.show", document_id=doc.id) + "#montants")
    else:
        form = _form_for(A.amounts_of(db.session, doc))
    return render_template("agreements/amounts.html", doc=doc, form=form, lines=A.LINES,
                           locked=locking.is_locked(db.session, doc)), status


@bp.route("/regions/<region_code>/conventions")
@login_required
def region(region_code: str) -> Any:
    """A region's agreements year by year, avenants applied, with the four lines and the total."""
    try:
        timeline = T.region_timeline(db.session, current_actor(), region_code)
    except NotFound:
        deny("region", region_code[:T.MAX_CODE])
        raise
    return render_template("agreements/region.html", timeline=timeline, lines=A.LINES,
                           national=T.can_see_national(current_actor()))


@bp.route("/conventions")
@login_required
def index() -> Any:
    """The national table regions × years (national accounts); a regional account goes to its region."""
    user = current_actor()
    if not T.can_see_national(user):
        if user is not None and user.region_code:
            return redirect(url_for("agreements.region", region_code=user.region_code))
        deny("agreements", "national", status=403)
    table = T.national_table(db.session, user)
    return render_template("agreements/national.html", table=table)


@bp.route("/conventions.csv")
@login_required
def national_csv() -> Any:
    """The national table as CSV: one line per region and year, then the totals of each year."""
    try:
        table = T.national_table(db.session, current_actor())
    except PermissionDenied:
        deny("agreements", "national.csv", status=403)
        raise
    return Response(T.national_csv(table), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="conventions-montants.csv"'})
