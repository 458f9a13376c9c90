"""« Composants de l'interface » (/aide/composants): every component of static/css/app.css with its class names.

For anyone building a page: buttons, icons, form fields, pickers, cards, badges, tables, tabs and
alerts as they look here, and the classes to write. The sample form is a GET form that only shows
back what it would send (nothing is stored), so the pickers can be tried: they send the same values
as the native controls.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_login import login_required
from sqlalchemy import select
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from documents.frenchtext import french_order
from documents.models import DocStatus, DocType, Organisation, Quartier
from intranet.extensions import db
from intranet.forms import FrenchForm, choices
from intranet.main import bp

#: Colour tokens shown as swatches: (custom property, use). Ratios are checked by tests/intranet/test_stylesheet.py.
SWATCHES = [
    ("ink", "texte"), ("muted", "texte secondaire"), ("accent", "liens, boutons, en-tête"),
    ("danger", "erreurs, suppression"), ("ok", "succès, signé"), ("warn", "brouillon, attention"),
    ("bg-soft", "fond des filtres"), ("bg-accent", "fond des badges de type, des puces"),
    ("bg-danger", "fond des erreurs"), ("bg-ok", "fond des succès"), ("bg-warn", "fond des avertissements"),
    ("bg-neutral", "fond neutre"), ("mark", "surlignage"), ("line", "filets (décoratifs)"),
    ("field-border", "bord des champs"), ("focus", "anneau de focus"),
]
ICON_NAMES = ["document", "search", "upload", "download", "link", "edit", "trash", "calendar", "check", "alert",
              "info", "close", "plus", "user", "lock", "filter"]


class SampleForm(FrenchForm):
    """The sample fields; sent by GET and never stored, so it carries no CSRF token."""

    class Meta:
        csrf = False

    title = StringField("Titre", validators=[Optional(), Length(max=200)], description="Un texte court.")
    status = SelectField("Statut", validate_choice=False)
    year = StringField("Année (exemple d'erreur)")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)])
    tacit = BooleanField("Tacite reconduction")
    parties = SelectMultipleField("Organisations", validate_choice=False, render_kw={"data-picker": ""})
    quartier = SelectField("Quartier", validate_choice=False, render_kw={"data-picker": ""})
    document = SelectField("Document", validate_choice=False)


@bp.route("/aide/composants")
@login_required
def components() -> Any:
    """The components of the interface, with their class names (every logged-in user)."""
    form = SampleForm(request.args)
    form.status.choices = choices([("", "— Tous —")] + [(s.value, s.label) for s in DocStatus])
    organisations = db.session.scalars(select(Organisation).order_by(french_order(Organisation.name))).all()
    form.parties.choices = [(str(o.id), o.name + (f" ({o.short_name})" if o.short_name else "")) for o in organisations]
    quartiers = db.session.scalars(select(Quartier).order_by(Quartier.region_name, Quartier.code)).all()
    form.quartier.choices = choices([("", "— Aucun —")] + [(q.code, f"{q.code} – {q.names}") for q in quartiers])
    form.document.choices = choices([("", "— Aucun —")] + ([(v, f"n° {v}") for v in [request.args.get("document", "")]
                                                             if v.isascii() and v.isdigit() and len(v) <= 10]))
    form.document.render_kw = {"data-picker-suggest": url_for("api.suggest_documents")}
    form.year.errors = ["Année entre 1900 et 2200."]
    sent = [(name, request.args.getlist(name)) for name in ("title", "status", "parties", "quartier", "document")
            if any(request.args.getlist(name))] if request.args else []
    return render_template("main/components.html", form=form, sent=sent, swatches=SWATCHES, icons=ICON_NAMES,
                           doc_types=list(DocType), statuses=list(DocStatus))
