"""Forms of the référentiel."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from intranet.forms import FrenchForm


class OrganisationForm(FrenchForm):
    """Edit an organisation."""

    name = StringField("Nom", validators=[DataRequired("Le nom est obligatoire."), Length(max=300)])
    short_name = StringField("Sigle ou nom court", validators=[Optional(), Length(max=100)])
    kind = SelectField("Type d'organisation")
    address = TextAreaField("Adresse", validators=[Optional(), Length(max=2000)])
    representative = StringField("Représentant", validators=[Optional(), Length(max=200)])
    representative_title = StringField("Qualité du représentant", validators=[Optional(), Length(max=200)])
    email = StringField("E-mail", validators=[Optional(), Regexp(r"^[^@\s]+@[^@\s]+$", message="Adresse e-mail invalide."),
                                              Length(max=254)])
    phone = StringField("Téléphone", validators=[
        Optional(), Regexp(r"^[0-9+().\s-]*$", message="Numéro de téléphone invalide."), Length(max=40)])
    submit = SubmitField("Enregistrer")


class OrganisationsImportForm(FrenchForm):
    """Upload the organisations CSV (dry run by default)."""

    file = FileField("Fichier CSV (UTF-8, séparateur « ; »)", validators=[FileRequired("Choisissez un fichier.")])
    dry_run = BooleanField("Simulation : montrer ce qui changerait sans rien modifier", default=True)
    submit = SubmitField("Importer")
